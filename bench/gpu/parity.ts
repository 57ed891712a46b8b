/**
 * `npm run bench -- parity --device webgpu [--models a,b] [--out FILE]`: the engine on a GPU device
 * against the CPU on the same model folders (fp32 files): seeded sampling, greedy and beam search,
 * scoring, and four turns batched together. Prints JSON (and writes it to --out): per model whether
 * every candidate's tokens are the CPU's and the largest log-probability and score differences. Exits
 * 1 when a model misses (different tokens, or a difference over 1e-4), so a script can stop there.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEngine, type DecodeOptions, type GeneratedCandidate, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { createInferenceSession } from '../../core/engine/session.js';

const TOLERANCE = 1e-4;

const BASE: DecodeOptions = {
  strategy: 'sample',
  numCandidates: 8,
  temperature: 0.9,
  topK: 20,
  topP: 1,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
  minNewTokens: 0,
  maxNewTokens: 12,
  seed: 11,
  beamWidth: 1,
  lengthPenalty: 1,
};

const STRATEGIES: Record<string, DecodeOptions> = {
  sample: BASE,
  greedy: { ...BASE, strategy: 'greedy', numCandidates: 1 },
  beam: { ...BASE, strategy: 'beam', beamWidth: 4, numCandidates: 4 },
};

interface Check {
  same_tokens: boolean;
  max_logprob_difference: number;
}

export interface ModelParity {
  model: string;
  device: string;
  graph: string;
  checks: Record<string, Check>;
  max_score_difference: number;
  pass: boolean;
}

function compare(gpu: GeneratedCandidate[][], cpu: GeneratedCandidate[][]): Check {
  const pairs = gpu.flatMap((turn, t) => turn.map((candidate, i) => [candidate, cpu[t][i]] as const));
  return {
    same_tokens: gpu.length === cpu.length && gpu.every((turn, t) => turn.length === cpu[t].length) && pairs.every(([a, b]) => a.tokens.join() === b.tokens.join()),
    max_logprob_difference: Math.max(0, ...pairs.map(([a, b]) => Math.abs(a.logprob - b.logprob))),
  };
}

async function modelParity(dir: string, device: 'webgpu' | 'cuda'): Promise<ModelParity> {
  const cpu = await loadEngine(dir, { device: 'cpu', fallback: 'fail', dtype: 'fp32' });
  const gpu: LoadedDialogueEngine = await loadEngine(dir, { device, fallback: 'fail', dtype: 'fp32' });
  try {
    const prompt = cpu.encodeTurns([{ role: 'user', text: 'Hello! What is the highest mountain in the world, and who climbed it first?' }]);
    const checks: Record<string, Check> = {};
    for (const [name, options] of Object.entries(STRATEGIES)) checks[name] = compare([await gpu.generate(prompt, options)], [await cpu.generate(prompt, options)]);
    const turns = [
      { prompt, options: STRATEGIES.sample },
      { prompt: prompt.slice(3), options: { ...BASE, numCandidates: 3, seed: 5 } },
      { prompt: prompt.slice(0, 6), options: STRATEGIES.beam },
      { prompt: prompt.slice(1), options: STRATEGIES.greedy },
    ];
    const batched = await Promise.all([gpu, cpu].map((engine) => Promise.all(turns.map((turn) => engine.generate(turn.prompt, turn.options)))));
    checks.batched_turns = compare(batched[0], batched[1]);
    const pairs = [
      { context: prompt, continuation: prompt.slice(1, 9) },
      { context: [], continuation: prompt.slice(0, 4) },
      { context: prompt.slice(0, 5), continuation: [prompt[5]] },
    ];
    const [onGpu, onCpu] = [await gpu.score(pairs), await cpu.score(pairs)];
    const maxScore = Math.max(...onGpu.map((score, i) => Math.abs(score - onCpu[i])));
    const pass = Object.values(checks).every((check) => check.same_tokens && check.max_logprob_difference <= TOLERANCE) && maxScore <= TOLERANCE;
    return { model: dir, device: gpu.device, graph: gpu.graph, checks, max_score_difference: maxScore, pass };
  } finally {
    await cpu.dispose();
    await gpu.dispose();
  }
}

export async function parityCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { device: { type: 'string', default: 'webgpu' }, models: { type: 'string' }, out: { type: 'string' } },
  });
  if (values.device !== 'webgpu' && values.device !== 'cuda') throw new Error('--device takes webgpu or cuda');
  const dirs = (values.models ?? 'models/banter-chat,test/fixtures/tiny-gpt2,test/fixtures/tiny-llama').split(',').map((dir) => resolve(dir.trim()));
  // What `engine.device: auto` picks on this machine, and why it skipped what it skipped.
  const messages: string[] = [];
  const auto = await createInferenceSession(resolve('test/fixtures/tiny-gpt2/onnx/model.onnx'), { device: 'auto', onProgress: (m) => messages.push(m) });
  await auto.session.release();
  const results: ModelParity[] = [];
  for (const dir of dirs) {
    process.stderr.write(`parity: ${dir} on ${values.device}\n`);
    results.push(await modelParity(dir, values.device));
  }
  const json = JSON.stringify({ benchmark: 'parity', date: new Date().toISOString(), tolerance: TOLERANCE, auto: { device: auto.device, messages }, models: results }, null, 2);
  if (values.out) await writeFile(values.out, `${json}\n`);
  process.stdout.write(`${json}\n`);
  if (!results.every((result) => result.pass)) process.exitCode = 1;
}
