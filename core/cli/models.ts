/** `banter models check | pull | optimize`: look at a model folder, fetch one from the Hugging Face hub, or write its faster graph. */
import { basename, resolve } from 'node:path';
import type { Command as Program } from 'commander';
import { MODEL_DTYPES, type DtypeChoice, type ModelDtype } from '../engine/index.js';
import { optimizeModelFolder } from '../engine/optimize/index.js';
import { checkModelFolder } from '../models/check.js';
import { pullModel } from '../models/pull.js';

function parseDtype(value: string): ModelDtype {
  if (!(MODEL_DTYPES as readonly string[]).includes(value)) throw new Error(`--dtype must be one of ${MODEL_DTYPES.join(', ')} (got "${value}")`);
  return value as ModelDtype;
}

/** A one-line progress bar on stderr (a line per file when stderr is not a terminal). */
function progressBar(): (file: string, received: number, total: number | undefined) => void {
  let lastFile = '';
  let lastShown = 0;
  return (file, received, total) => {
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    const done = total !== undefined && received >= total;
    if (!process.stderr.isTTY) {
      if (done) process.stderr.write(`${file} ${mb(received)} MB\n`);
      return;
    }
    const now = Date.now();
    if (file === lastFile && !done && now - lastShown < 100) return;
    lastFile = file;
    lastShown = now;
    const fraction = total ? received / total : 0;
    const width = 24;
    const bar = total ? `[${'#'.repeat(Math.round(fraction * width)).padEnd(width)}] ${Math.round(fraction * 100)}%` : '';
    process.stderr.write(`\r\x1b[K${file} ${bar} ${mb(received)}${total ? `/${mb(total)}` : ''} MB${done ? '\n' : ''}`);
  };
}

export function registerModelCommands(program: Program): void {
  const models = program.command('models').description('Check a model folder, or pull one from the Hugging Face hub');
  models
    .command('check')
    .description('Architecture, sizes, dtype, end tokens, template and graph of a model folder, and whether it runs')
    .argument('<folder>', 'model folder (Hugging Face layout)')
    .option('--dtype <dtype>', `ONNX file to check (${MODEL_DTYPES.join(', ')}); default: the one the engine picks`)
    .option('--device <device>', 'cpu, webgpu, cuda or auto', 'cpu')
    .action(async (folder: string, options: { dtype?: string; device: 'cpu' | 'webgpu' | 'cuda' | 'auto' }) => {
      const dtype: DtypeChoice = options.dtype ? parseDtype(options.dtype) : 'auto';
      const report = await checkModelFolder(folder, { dtype, device: options.device });
      const width = Math.max(...report.facts.map(([label]) => label.length));
      for (const [label, value] of report.facts) console.log(`${label.padEnd(width)}  ${value}`);
      for (const problem of report.problems) console.error(`problem: ${problem}`);
      console.log(report.problems.length === 0 ? 'OK: banter can run this folder' : `${report.problems.length} problem(s)`);
      if (report.problems.length > 0) process.exitCode = 1;
    });
  models
    .command('optimize')
    .description("Write banter's slot-cache graph of a Llama-family folder's weights (onnx/decoder_slot_cache*.onnx), kept only if its logits match the standard graph's")
    .argument('<folder>', 'model folder with a standard ONNX export (llama, mistral, qwen2, gemma, phi3)')
    .option('--dtype <dtype>', 'which export to convert: fp32, fp16, q4 or q4f16', 'fp32')
    .action(async (folder: string, options: { dtype: string }) => {
      const result = await optimizeModelFolder(folder, { dtype: options.dtype as never, onProgress: (message) => process.stderr.write(`${message}\n`) });
      console.log(
        `wrote ${result.written.join(', ')}: ${result.modelType}, ${result.layers} layers; its logits match ${result.source} within ${result.maxLogitDiff.toExponential(2)} (accepted up to ${result.tolerance.toExponential(2)}). The engine runs it from now on.`,
      );
    });
  models
    .command('pull')
    .description('Download a model (configs, tokenizer, one dtype of its ONNX decoder) from the Hugging Face hub')
    .argument('<hub-id>', 'repository id, e.g. HuggingFaceTB/SmolLM2-360M-Instruct')
    .option('--dtype <dtype>', `which ONNX file (${MODEL_DTYPES.join(', ')})`, 'q4')
    .option('--dir <folder>', 'where to write it; default models/<name>')
    .option('--revision <revision>', 'branch, tag or commit', 'main')
    .action(async (hubId: string, options: { dtype: string; dir?: string; revision: string }) => {
      const target = resolve(options.dir ?? `models/${basename(hubId)}`);
      const written = await pullModel(hubId, { dtype: parseDtype(options.dtype), target, revision: options.revision, onProgress: progressBar() });
      console.log(`${hubId} is in ${target} (${written.length} file(s) downloaded). Check it: banter models check ${target}`);
    });
}
