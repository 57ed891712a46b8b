/**
 * `npm run bench -- layouts --device webgpu [--model DIR] [--rows 1,16,64] [--steps N] [--out FILE]`:
 * what one decode step costs with each way of keeping the key/value cache, on one device. A step is
 * a forward pass over N rows after a 128-token prompt, ending with the logits (and log-normalisers)
 * in host memory and the cache ready for the next step:
 * - `device-standard`: the standard graph with its presents left in GPU memory (GpuCacheDecoder, what
 *   the engine runs on WebGPU for folders without a slot-cache graph): the graph's concat copies the
 *   cache on the device each step;
 * - `device-slot`: banter's slot-cache graph with its cache in GPU memory (GpuSlotCacheDecoder, what
 *   the engine runs on WebGPU where the folder has the graph), each step's new entries written by a
 *   ScatterND helper session into a new buffer: onnxruntime-node 1.30 cannot bind an output onto an
 *   input, so this copies the cache on the device each step too, plus a second run;
 * - `host-standard`: the standard graph with host presents (ConcatCacheDecoder): the cache goes up
 *   and comes back down every step;
 * - `host-slot`: the slot-cache graph with host buffers (SlotCacheDecoder): the cache goes up every
 *   step, the new entries come down.
 * This is the measurement behind the engine's choice on GPUs; on Mesa's lavapipe "device" memory is
 * host memory and kernels run on the CPU, so only a real GPU's figures decide.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConcatCacheDecoder, SlotCacheDecoder, type Decoder, type DecoderShape } from '../../core/engine/decoder.js';
import type { EngineDevice } from '../../core/engine/errors.js';
import { GpuCacheDecoder } from '../../core/engine/gpu-decoder.js';
import { GpuSlotCacheDecoder, slotCacheDeviceOutputs } from '../../core/engine/gpu-slot-decoder.js';
import type { KvCache } from '../../core/engine/kv-cache.js';
import { readModelFolder } from '../../core/engine/model-folder.js';
import { createInferenceSession } from '../../core/engine/session.js';
import { median, round } from '../engine/stats.js';

const LAYOUTS = ['device-standard', 'device-slot', 'host-standard', 'host-slot'] as const;
type Layout = (typeof LAYOUTS)[number];

/** One layout set up on a model: a prefill, an expansion to N rows, then steps. */
interface StepRunner {
  prefill(prompt: number[], reserve: number): Promise<void>;
  expand(rows: number): Promise<void>;
  /** One step; resolves with its logits, in host memory, once the cache is ready for the next. */
  step(tokens: number[]): Promise<Float32Array>;
  end(): void;
  release(): Promise<void>;
}

/** A layout served by one of the engine's decoders. */
function decoderRunner(decoder: Decoder): StepRunner {
  let cache: KvCache | null = null;
  return {
    async prefill(prompt, reserve) {
      cache = (await decoder.forward(null, [prompt], reserve)).cache;
    },
    async expand(rows) {
      cache = decoder.selectRows(cache!, new Array<number>(rows).fill(0));
    },
    async step(tokens) {
      const out = await decoder.forward(cache, tokens.map((token) => [token]));
      cache = out.cache;
      return out.scores.logits;
    },
    end() {
      if (cache) decoder.dispose(cache);
      cache = null;
    },
    release: () => decoder.release(),
  };
}

async function runnerFor(layout: Layout, dir: string, device: EngineDevice): Promise<StepRunner | undefined> {
  const folder = await readModelFolder(dir, { dtype: 'fp32' });
  const shape: DecoderShape = { layers: folder.layers, kvHeads: folder.kvHeads, headDim: folder.headDim, vocabSize: folder.vocabSize, cacheType: 'float32' };
  const slot = layout.endsWith('slot');
  if (slot && !folder.slotCachePath) return undefined;
  const onDevice = layout.startsWith('device');
  const deviceOutputs = onDevice && (slot ? slotCacheDeviceOutputs(folder.layers) : true);
  const { session } = await createInferenceSession(slot ? folder.slotCachePath! : folder.onnxPath, { device, fallback: 'fail' }, { deviceOutputs });
  if (onDevice) return decoderRunner(slot ? new GpuSlotCacheDecoder(session, shape, device) : new GpuCacheDecoder(session, shape, device));
  return decoderRunner(slot ? new SlotCacheDecoder(session, shape) : new ConcatCacheDecoder(session, shape));
}

/** Median step time over `steps` steps of N rows, after one untimed round of the same work, and the last step's logits. */
async function timeSteps(runner: StepRunner, prompt: number[], rows: number, steps: number, vocab: number): Promise<{ ms: number; logits: Float32Array }> {
  let times: number[] = [];
  let logits: Float32Array = new Float32Array(0);
  for (let round = 0; round < 2; round++) {
    times = [];
    await runner.prefill(prompt, prompt.length + steps);
    await runner.expand(rows);
    for (let s = 0; s < steps; s++) {
      const tokens = Array.from({ length: rows }, (_, r) => (s * 31 + r * 7 + 3) % vocab);
      const start = performance.now();
      logits = await runner.step(tokens);
      times.push(performance.now() - start);
    }
    runner.end();
  }
  return { ms: median(times), logits };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let most = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length && i < b.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

export async function layoutsCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      device: { type: 'string', default: 'webgpu' },
      model: { type: 'string', default: 'models/banter-chat' },
      rows: { type: 'string', default: '1,16,64' },
      steps: { type: 'string', default: '31' },
      out: { type: 'string' },
    },
  });
  const device = values.device as EngineDevice;
  if (!['cpu', 'webgpu', 'cuda'].includes(device)) throw new Error('--device takes cpu, webgpu or cuda');
  const dir = resolve(values.model);
  const rowCounts = values.rows.split(',').map(Number);
  const steps = Number(values.steps);
  const folder = await readModelFolder(dir, { dtype: 'fp32' });
  // Seeded prompt ids, never the end tokens.
  const prompt = Array.from({ length: Math.min(128, folder.contextWindow - steps - 1) }, (_, i) => {
    const token = (i * 7919 + 13) % folder.vocabSize;
    return folder.endTokenIds.includes(token) ? (token + 1) % folder.vocabSize : token;
  });
  const results: Record<string, Record<string, number | string>> = {};
  // Every layout computes the same logits: checked on the last step of each row count against the first layout.
  const reference = new Map<number, Float32Array>();
  for (const layout of LAYOUTS) {
    const runner = await runnerFor(layout, dir, device);
    if (!runner) {
      results[layout] = { unsupported: 'the folder has no onnx/decoder_slot_cache.onnx' };
      continue;
    }
    results[layout] = {};
    for (const rows of rowCounts) {
      const { ms, logits } = await timeSteps(runner, prompt, rows, steps, folder.vocabSize);
      results[layout][`rows_${rows}_step_ms`] = round(ms, 3);
      if (!reference.has(rows)) reference.set(rows, logits);
      else results[layout][`rows_${rows}_max_logit_difference_vs_${LAYOUTS[0]}`] = Number(maxDifference(logits, reference.get(rows)!).toPrecision(3));
      process.stderr.write(`layouts: ${layout} ${rows} rows: ${round(ms, 3)} ms per step\n`);
    }
    await runner.release();
  }
  const json = JSON.stringify(
    {
      benchmark: 'layouts',
      date: new Date().toISOString(),
      device,
      model: dir,
      prompt_tokens: prompt.length,
      steps,
      note: 'median wall time of one decode step (forward pass, logits in host memory, cache ready for the next step), after an untimed round of the same work',
      layouts: results,
    },
    null,
    2,
  );
  if (values.out) await writeFile(values.out, `${json}\n`);
  process.stdout.write(`${json}\n`);
}
