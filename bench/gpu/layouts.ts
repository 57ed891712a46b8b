/**
 * `npm run bench -- layouts --device webgpu [--model DIR] [--rows 1,16,64] [--steps N] [--out FILE]`:
 * what one decode step costs with each way of keeping the key/value cache, on one device. A step is
 * a forward pass over N rows after a 128-token prompt, ending with the logits (and log-normalisers)
 * in host memory and the cache ready for the next step:
 * - `device-standard`: the standard graph with its presents left in GPU memory (GpuCacheDecoder, what
 *   the engine runs on WebGPU): the graph's concat copies the cache on the device each step;
 * - `device-slot`: banter's slot-cache graph with its cache in GPU memory, each step's new entries
 *   written by a ScatterND helper session, into a new buffer: onnxruntime-node 1.30 cannot bind an
 *   output onto an input, so this copies the cache on the device each step too, plus a second run;
 * - `host-standard`: the standard graph with host presents (ConcatCacheDecoder): the cache goes up
 *   and comes back down every step;
 * - `host-slot`: the slot-cache graph with host buffers (SlotCacheDecoder): the cache goes up every
 *   step, the new entries come down.
 * This is the measurement behind the engine's choice of `device-standard` on GPUs; on Mesa's lavapipe
 * "device" memory is host memory and kernels run on the CPU, so only a real GPU's figures decide.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ConcatCacheDecoder, SlotCacheDecoder, slotStepFeeds, type Decoder, type DecoderShape } from '../../core/engine/decoder.js';
import type { EngineDevice } from '../../core/engine/errors.js';
import { GpuCacheDecoder } from '../../core/engine/gpu-decoder.js';
import { GpuCacheHelpers } from '../../core/engine/gpu-helpers.js';
import type { KvCache } from '../../core/engine/kv-cache.js';
import { readModelFolder } from '../../core/engine/model-folder.js';
import { buildModel } from '../../core/engine/onnx-builder.js';
import { createInferenceSession, sessionOptions } from '../../core/engine/session.js';
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

/**
 * The slot-cache graph with its cache in GPU memory: `cache_update` outputs stay on the device and
 * a ScatterND session writes them at each row's next slot, giving the next step's cache.
 */
async function deviceSlotRunner(path: string, shape: DecoderShape, device: EngineDevice): Promise<StepRunner> {
  const names = Array.from({ length: 2 * shape.layers }, (_, t) => `${t >> 1}.${t % 2 === 0 ? 'key' : 'value'}`);
  const options = sessionOptions({}, device);
  options.preferredOutputLocation = Object.fromEntries(names.map((name) => [`cache_update.${name}`, 'gpu-buffer' as const]));
  const session = await InferenceSession.create(path, options);
  const dims = (batch: string, positions: string) => [batch, shape.kvHeads, positions, shape.headDim];
  const scatterModel = buildModel({
    name: 'banter_write_slots',
    inputs: [
      ...names.map((name) => ({ name: `cache.${name}`, type: shape.cacheType, dims: dims('rows', 'slots') })),
      ...names.map((name) => ({ name: `update.${name}`, type: shape.cacheType, dims: dims('rows', 'new') })),
      { name: 'indices', type: 'int64' as const, dims: ['rows', shape.kvHeads, 'new', 3] },
    ],
    outputs: names.map((name) => ({ name: `out.${name}`, type: shape.cacheType, dims: dims('rows', 'slots') })),
    nodes: names.map((name) => ({ op: 'ScatterND', inputs: [`cache.${name}`, 'indices', `update.${name}`], outputs: [`out.${name}`] })),
  });
  const scatter = await InferenceSession.create(scatterModel, sessionOptions({}, device, true));
  const helpers = new GpuCacheHelpers(device, shape, 'float32');
  let tensors: Tensor[] = [];
  let lengths: number[] = [];
  let capacity = 0;
  const pass = async (tokens: number[][]) => {
    const seq = tokens[0].length;
    const feeds = slotStepFeeds(tokens, lengths, capacity);
    names.forEach((name, t) => (feeds[`cache.${name}`] = tensors[t]));
    const out = await session.run(feeds);
    const logits = out.logits.data as Float32Array;
    const indices = new BigInt64Array(tokens.length * shape.kvHeads * seq * 3);
    let i = 0;
    for (let row = 0; row < tokens.length; row++) {
      for (let head = 0; head < shape.kvHeads; head++) {
        for (let s = 0; s < seq; s++) indices.set([BigInt(row), BigInt(head), BigInt(lengths[row] + s)], 3 * i++);
      }
    }
    const written = await scatter.run({
      ...Object.fromEntries(names.map((name, t) => [`cache.${name}`, tensors[t]])),
      ...Object.fromEntries(names.map((name) => [`update.${name}`, out[`cache_update.${name}`]])),
      indices: new Tensor('int64', indices, [tokens.length, shape.kvHeads, seq, 3]),
    });
    for (const tensor of Object.values(out)) tensor.dispose();
    for (const tensor of tensors) tensor.dispose();
    tensors = names.map((name) => written[`out.${name}`]);
    lengths = lengths.map((length) => length + seq);
    return logits;
  };
  return {
    async prefill(prompt, reserve) {
      capacity = reserve;
      lengths = [0];
      const size = shape.kvHeads * capacity * shape.headDim;
      tensors = names.map(() => new Tensor(shape.cacheType, new Float32Array(size), [1, shape.kvHeads, capacity, shape.headDim]));
      await pass([prompt]);
    },
    async expand(rows) {
      tensors = await helpers.join([{ tensors, batch: 1, capacity, rows: new Array<number>(rows).fill(0) }], capacity);
      lengths = new Array<number>(rows).fill(lengths[0]);
    },
    step: (tokens) => pass(tokens.map((token) => [token])),
    end() {
      for (const tensor of tensors) tensor.dispose();
      tensors = [];
    },
    async release() {
      await helpers.release();
      await scatter.release();
      await session.release();
    },
  };
}

async function runnerFor(layout: Layout, dir: string, device: EngineDevice): Promise<StepRunner | undefined> {
  const folder = await readModelFolder(dir, { dtype: 'fp32' });
  const shape: DecoderShape = { layers: folder.layers, kvHeads: folder.kvHeads, headDim: folder.headDim, vocabSize: folder.vocabSize, cacheType: 'float32' };
  const slot = layout.endsWith('slot');
  if (slot && !folder.slotCachePath) return undefined;
  const path = slot ? folder.slotCachePath! : folder.onnxPath;
  if (layout === 'device-slot') return deviceSlotRunner(path, shape, device);
  const { session } = await createInferenceSession(path, { device, fallback: 'fail' }, { deviceOutputs: layout === 'device-standard' });
  if (layout === 'device-standard') return decoderRunner(new GpuCacheDecoder(session, shape, device));
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
