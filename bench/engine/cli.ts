/**
 * `npm run bench -- engine [options]`: banter's engine against transformers.js and the bare runtime.
 *
 *   --json               print the results JSON on stdout (default: a table, then the files written)
 *   --runs N             timed runs per scenario (default 7); --warmup N (default 2)
 *   --model DIR          the default model (default models/banter-chat, else test/fixtures/tiny-gpt2)
 *   --large-model DIR    the GPT-2-small-sized model (default bench/.models/gpt2-small-random)
 *   --no-large           skip the large model
 *   --llama-model DIR    the Llama-family model of SmolLM2-135M's shape (default bench/.models/smollm2-135m-random)
 *   --no-llama           skip the Llama-family model
 *   --intra N, --inter N onnxruntime intra-op / inter-op threads for every system (default 2 / 1)
 *   --spinning           let onnxruntime's idle threads spin in every system (default off, as banter)
 *   --systems a,b        subset of banter,transformers.js,floor; --scenarios a,b subset of the scenarios
 *   --seed N             base seed (default 1); --out DIR results folder (default bench/results)
 *   --device D           cpu (default), webgpu or cuda: the execution provider of every system; GPU runs
 *                        add sample-64x32 to the scenarios and write engine-<device>-latest.json
 *   --models a,b         the model folders to run (instead of --model and --large-model)
 *   --same-process       every system of a scenario in one child process (results in
 *                        engine-same-process.json, no plot): no process-to-process difference in
 *                        the ratios, but one shared peak RSS
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runEngineBenchmark } from './harness.js';
import { renderPlot } from './plot.js';
import { formatTable } from './report.js';
import { BENCH_DEVICES, DEFAULT_SCENARIOS, SCENARIOS, SYSTEMS, type BenchDevice, type ScenarioName, type SystemName } from './types.js';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const LARGE_MODEL = join(REPO_ROOT, 'bench/.models/gpt2-small-random');
const LARGE_MODEL_COMMAND =
  '/usr/bin/python3 tools/gpt2/export.py --random --layers 12 --hidden 768 --heads 12 --positions 1024 --out bench/.models/gpt2-small-random';
const LLAMA_MODEL = join(REPO_ROOT, 'bench/.models/smollm2-135m-random');
const LLAMA_MODEL_COMMAND = 'OMP_NUM_THREADS=2 /usr/bin/python3 tools/fixtures/make_fixtures.py --shape smollm2-135m --out bench/.models/smollm2-135m-random';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function defaultModel(): Promise<string> {
  const shipped = join(REPO_ROOT, 'models/banter-chat');
  return (await exists(join(shipped, 'onnx/model.onnx'))) ? shipped : join(REPO_ROOT, 'test/fixtures/tiny-gpt2');
}

function positiveInteger(flag: string, text: string, minimum = 1): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`--${flag} must be an integer >= ${minimum} (got "${text}")`);
  return value;
}

function subset<T extends string>(flag: string, text: string | undefined, all: readonly T[]): T[] {
  if (text === undefined) return [...all];
  const chosen = text.split(',').map((item) => item.trim());
  const unknown = chosen.filter((item) => !all.includes(item as T));
  if (unknown.length > 0) throw new Error(`--${flag}: unknown ${unknown.join(', ')} (choose from ${all.join(', ')})`);
  return all.filter((item) => chosen.includes(item));
}

export async function engineCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '7' },
      warmup: { type: 'string', default: '2' },
      model: { type: 'string' },
      'large-model': { type: 'string' },
      'no-large': { type: 'boolean', default: false },
      'llama-model': { type: 'string' },
      'no-llama': { type: 'boolean', default: false },
      intra: { type: 'string', default: '2' },
      inter: { type: 'string', default: '1' },
      spinning: { type: 'boolean', default: false },
      systems: { type: 'string' },
      scenarios: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      'same-process': { type: 'boolean', default: false },
      device: { type: 'string', default: 'cpu' },
      models: { type: 'string' },
    },
  });
  const [device] = subset<BenchDevice>('device', values.device, BENCH_DEVICES);
  if (values.device.includes(',') || !device) throw new Error(`--device takes one of ${BENCH_DEVICES.join(', ')}`);
  const modelDirs = values.models ? values.models.split(',').map((dir) => resolve(dir.trim())) : [values.model ? resolve(values.model) : await defaultModel()];
  if (!values.models && !values['no-large']) {
    const large = values['large-model'] ? resolve(values['large-model']) : LARGE_MODEL;
    if (!(await exists(join(large, 'onnx/model.onnx')))) {
      throw new Error(`no large model at ${large}: generate it with\n  ${LARGE_MODEL_COMMAND}\nor pass --no-large`);
    }
    modelDirs.push(large);
  }
  if (!values.models && !values['no-llama']) {
    const llama = values['llama-model'] ? resolve(values['llama-model']) : LLAMA_MODEL;
    if (!(await exists(join(llama, 'onnx/model.onnx')))) {
      throw new Error(`no Llama-family model at ${llama}: generate it with\n  ${LLAMA_MODEL_COMMAND}\nor pass --no-llama`);
    }
    modelDirs.push(llama);
  }
  const results = await runEngineBenchmark({
    modelDirs,
    systems: subset<SystemName>('systems', values.systems, SYSTEMS),
    scenarios: values.scenarios ? subset<ScenarioName>('scenarios', values.scenarios, SCENARIOS) : [...DEFAULT_SCENARIOS[device]],
    device,
    threads: {
      intraOp: positiveInteger('intra', values.intra),
      interOp: positiveInteger('inter', values.inter),
      spinning: values.spinning,
    },
    warmup: positiveInteger('warmup', values.warmup, 0),
    runs: positiveInteger('runs', values.runs),
    seed: positiveInteger('seed', values.seed, 0),
    sameProcess: values['same-process'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const outDir = values.out ? resolve(values.out) : join(REPO_ROOT, 'bench/results');
  await mkdir(outDir, { recursive: true });
  const json = JSON.stringify(results, null, 2);
  // A GPU run never overwrites the CPU's committed results.
  const stem = device === 'cpu' ? 'engine' : `engine-${device}`;
  const jsonPath = join(outDir, values['same-process'] ? `${stem}-same-process.json` : `${stem}-latest.json`);
  await writeFile(jsonPath, `${json}\n`);
  const written = [`results: ${jsonPath}`];
  if (!values['same-process']) {
    const plotPath = join(outDir, `${stem}-tokens-per-second.svg`);
    await writeFile(plotPath, renderPlot(results));
    written.push(`plot:    ${plotPath}`);
  }
  if (values.json) process.stdout.write(`${json}\n`);
  else process.stdout.write(`${formatTable(results)}\n\n${written.join('\n')}\n`);
}
