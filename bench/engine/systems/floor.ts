/**
 * The floor: bare onnxruntime-node `InferenceSession.run` calls with inputs built before the clock
 * starts, on the graph banter runs (the slot-cache graph when the folder has one, else the standard
 * one), in the sequence and at the shapes banter's engine uses: generation is one prefill at batch 1
 * over the prompt, then one call per further token at batch N x 1; scoring is one call over the
 * left-padded pairs. On the standard graph each step's past is the previous call's `present`; on the
 * slot-cache graph every call reads pre-built cache buffers (the prefill's sized for prompt + new
 * tokens, all masked; scoring's one masked slot per row: the graph never sees zero slots), with a
 * pre-built mask. On WebGPU the cache is in GPU memory as banter's is (presents left there; the slot
 * graph's steps read a filled cache put there before the clock starts) and only logits (and the slot
 * graph's log-normalisers) come back. No tokenizer, no sampling, no cache copies or writes (the first
 * step's batch-N cache is pre-built: filled values, or on the GPU's standard graph an untimed batch-N
 * pass over the prompt), so anything above it is a system's own work.
 */
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { slotCacheDeviceOutputs } from '../../../core/engine/gpu-slot-decoder.js';
import { buildModel } from '../../../core/engine/onnx-builder.js';
import { DEVICE_OUTPUT_DEVICES, sessionOptions } from '../../../core/engine/session.js';
import { readModelFacts } from '../scenarios.js';
import type { BenchDevice, Threads, Workload } from '../types.js';
import { expectedTokens, type BenchSystem } from './system.js';

interface Shape {
  layers: number;
  heads: number;
  headDim: number;
}

type Feeds = Record<string, Tensor>;

function int64(values: ArrayLike<number>, dims: number[]): Tensor {
  return new Tensor('int64', BigInt64Array.from(Array.from(values, BigInt)), dims);
}

/** The cache inputs of a graph: `past_key_values.{i}.*` (standard) or `cache.{i}.*` (slot cache). */
function cacheNames(shape: Shape, slotCache: boolean): string[] {
  const prefix = slotCache ? 'cache' : 'past_key_values';
  return Array.from({ length: 2 * shape.layers }, (_, i) => `${prefix}.${i >> 1}.${i % 2 === 0 ? 'key' : 'value'}`);
}

/**
 * Cache tensors filled with seeded values in [-1, 1). Never zero-filled: a zeroed buffer that is never
 * written stays mapped to the kernel's one shared zero page, which reads from the CPU cache, and made
 * the slot-cache floor's 16 x 32 run 16% faster than with the values a real cache holds (258 vs 308 ms).
 */
function filledPast(names: string[], shape: Shape, batch: number, length: number): Feeds {
  const dims = [batch, shape.heads, length, shape.headDim];
  let state = 12345;
  return Object.fromEntries(
    names.map((name) => {
      const data = new Float32Array(batch * shape.heads * length * shape.headDim);
      for (let i = 0; i < data.length; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        data[i] = state / 2 ** 31 - 1;
      }
      return [name, new Tensor('float32', data, dims)];
    }),
  );
}

/**
 * Copies of host tensors in `device` memory, through an Identity session whose outputs stay there.
 * Free the copies before releasing the session (a device tensor freed after its session crashes).
 */
async function onDevice(feeds: Feeds, device: BenchDevice): Promise<{ feeds: Feeds; release: () => Promise<void> }> {
  const names = Object.keys(feeds);
  const model = buildModel({
    name: 'floor_upload',
    inputs: names.map((name) => ({ name, type: 'float32', dims: feeds[name].dims.map(Number) })),
    outputs: names.map((name) => ({ name: `${name}.device`, type: 'float32', dims: feeds[name].dims.map(Number) })),
    nodes: names.map((name) => ({ op: 'Identity', inputs: [name], outputs: [`${name}.device`] })),
  });
  const upload = await InferenceSession.create(model, sessionOptions({}, device, true));
  const results = await upload.run(feeds);
  const copies: Feeds = Object.fromEntries(names.map((name) => [name, results[`${name}.device`]]));
  return {
    feeds: copies,
    release: async () => {
      disposeAll(copies);
      await upload.release();
    },
  };
}

/** Frees a call's tensors (GPU ones hold device memory until then). */
function disposeAll(tensors: Record<string, unknown>): void {
  for (const tensor of Object.values(tensors)) (tensor as Tensor).dispose();
}

/**
 * Token inputs of one call: ids, mask, positions continuing the past. The mask covers past + seq
 * (ones), or on the slot-cache graph all `slots` + seq with the free slots after the past at 0.
 */
function tokenFeeds(batch: number, tokens: number[], pastLength: number, withPositions: boolean, slots = pastLength): Feeds {
  const seq = tokens.length;
  const row = [...new Array<number>(pastLength).fill(1), ...new Array<number>(slots - pastLength).fill(0), ...new Array<number>(seq).fill(1)];
  const feeds: Feeds = {
    input_ids: int64(Array.from({ length: batch }, () => tokens).flat(), [batch, seq]),
    attention_mask: int64(Array.from({ length: batch }, () => row).flat(), [batch, slots + seq]),
  };
  if (withPositions) feeds.position_ids = int64(Array.from({ length: batch * seq }, (_, i) => pastLength + (i % seq)), [batch, seq]);
  return feeds;
}

export async function createFloorSystem(modelDir: string, workload: Workload, threads: Threads, device: BenchDevice = 'cpu'): Promise<BenchSystem> {
  const model = await readModelFacts(modelDir);
  const shape: Shape = { layers: model.layers, heads: model.kvHeads, headDim: model.headDim };
  // As the engine runs: the slot-cache graph where the folder has one; on a device that keeps outputs
  // in its memory, the cache there (presents, or the slot graph's new entries) and logits back in host memory.
  const deviceCache = DEVICE_OUTPUT_DEVICES.has(device);
  const slotCache = model.slotCacheGraph;
  const names = cacheNames(shape, slotCache);
  const outputs = slotCache ? slotCacheDeviceOutputs(shape.layers) : names.map((name) => name.replace('past_key_values', 'present'));
  const options = sessionOptions({ intraOpThreads: threads.intraOp, interOpThreads: threads.interOp, spinning: threads.spinning }, device, deviceCache && outputs);
  const session = await InferenceSession.create(slotCache ? join(modelDir, 'onnx', 'decoder_slot_cache.onnx') : model.standardGraph, options);
  const withPositions = session.inputNames.includes('position_ids');
  const tokens = expectedTokens(workload);

  if (workload.kind === 'score') {
    const sequences = workload.pairs.map((pair) => [...pair.context, ...pair.continuation]);
    const batch = sequences.length;
    const width = Math.max(...sequences.map((sequence) => sequence.length));
    const ids = new Array<number>(batch * width).fill(0);
    const mask = new Array<number>(batch * width).fill(0);
    const positions = new Array<number>(batch * width).fill(0);
    sequences.forEach((sequence, row) => {
      const pad = width - sequence.length;
      sequence.forEach((token, i) => {
        ids[row * width + pad + i] = token;
        mask[row * width + pad + i] = 1;
        positions[row * width + pad + i] = i;
      });
    });
    // The slot-cache graph reads one masked slot before every row.
    const slotMask = slotCache ? Array.from({ length: batch }, (_, row) => [0, ...mask.slice(row * width, (row + 1) * width)]).flat() : mask;
    const feeds: Feeds = {
      input_ids: int64(ids, [batch, width]),
      attention_mask: int64(slotMask, [batch, width + (slotCache ? 1 : 0)]),
      ...(withPositions ? { position_ids: int64(positions, [batch, width]) } : {}),
      ...filledPast(names, shape, batch, slotCache ? 1 : 0),
    };
    return {
      run: async () => {
        const outputs = await session.run(feeds);
        if (deviceCache) disposeAll(outputs);
        return tokens;
      },
      dispose: () => session.release(),
    };
  }

  const prompt = workload.prompt;
  const batch = workload.kind === 'sample' ? workload.candidates : workload.width;
  const newTokens = workload.kind === 'sample' ? workload.sampling.newTokens : workload.newTokens;
  // Step s (1-based) feeds one token per row after a past of prompt + s - 1 tokens.
  const slots = prompt.length + newTokens;
  const prefill: Feeds = { ...tokenFeeds(1, prompt, 0, withPositions, slotCache ? slots : 0), ...filledPast(names, shape, 1, slotCache ? slots : 0) };
  const steps = Array.from({ length: newTokens - 1 }, (_, i) =>
    tokenFeeds(batch, [prompt.at(-1)!], prompt.length + i, withPositions, slotCache ? slots : prompt.length + i),
  );
  const presentAsPast = (outputs: InferenceSession.OnnxValueMapType): Feeds =>
    Object.fromEntries(names.map((name) => [name, outputs[name.replace('past_key_values', 'present')] as Tensor]));
  if (deviceCache && slotCache) {
    // The steps read one pre-built, filled batch-N cache in GPU memory (the engine's is there too).
    const firstCache = await onDevice(filledPast(names, shape, batch, slots), device);
    return {
      run: async () => {
        disposeAll(await session.run(prefill));
        for (const step of steps) disposeAll(await session.run({ ...step, ...firstCache.feeds }));
        return tokens;
      },
      dispose: async () => {
        await firstCache.release();
        await session.release();
      },
    };
  }
  if (deviceCache) {
    // The first step's batch-N past, in GPU memory: an untimed pass over the prompt at batch N.
    const warm = await session.run({ ...tokenFeeds(batch, prompt, 0, withPositions), ...filledPast(names, shape, batch, 0) });
    warm.logits.dispose();
    const firstPast = presentAsPast(warm);
    return {
      run: async () => {
        disposeAll(await session.run(prefill));
        let past = firstPast;
        for (const step of steps) {
          const outputs = await session.run({ ...step, ...past });
          outputs.logits.dispose();
          if (past !== firstPast) disposeAll(past);
          past = presentAsPast(outputs);
        }
        if (past !== firstPast) disposeAll(past);
        return tokens;
      },
      dispose: async () => {
        disposeAll(firstPast);
        await session.release();
      },
    };
  }
  const firstPast = filledPast(names, shape, batch, slotCache ? slots : prompt.length);
  return {
    run: async () => {
      await session.run(prefill);
      let past = firstPast;
      for (const step of steps) {
        const outputs = await session.run({ ...step, ...past });
        if (!slotCache) past = presentAsPast(outputs);
      }
      return tokens;
    },
    dispose: () => session.release(),
  };
}
