/**
 * The floor: bare onnxruntime-node `InferenceSession.run` calls with inputs built before the clock
 * starts, in the sequence and at the shapes banter's engine uses: generation is one prefill at batch 1
 * over the prompt, then one call per further token at batch N x 1 whose past is the previous call's
 * `present`; scoring is one call over the left-padded pairs. No tokenizer, no sampling, no cache
 * copies (the first step's batch-N past is pre-built), so anything above it is a system's own work.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { spinningConfig } from '../../../core/engine/session.js';
import type { Threads, Workload } from '../types.js';
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

/** Zero-filled past tensors (the values do not change the cost of a step). */
function zeroPast(shape: Shape, batch: number, length: number): Feeds {
  const feeds: Feeds = {};
  for (let layer = 0; layer < shape.layers; layer++) {
    for (const kind of ['key', 'value']) {
      const dims = [batch, shape.heads, length, shape.headDim];
      feeds[`past_key_values.${layer}.${kind}`] = new Tensor('float32', new Float32Array(batch * shape.heads * length * shape.headDim), dims);
    }
  }
  return feeds;
}

function presentAsPast(shape: Shape, outputs: InferenceSession.OnnxValueMapType): Feeds {
  const feeds: Feeds = {};
  for (let layer = 0; layer < shape.layers; layer++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${layer}.${kind}`] = outputs[`present.${layer}.${kind}`] as Tensor;
  }
  return feeds;
}

/** Token inputs of one call: ids, all-ones mask over past + seq, positions continuing the past. */
function tokenFeeds(batch: number, tokens: number[], pastLength: number, withPositions: boolean): Feeds {
  const seq = tokens.length;
  const feeds: Feeds = {
    input_ids: int64(Array.from({ length: batch }, () => tokens).flat(), [batch, seq]),
    attention_mask: int64(new Array<number>(batch * (pastLength + seq)).fill(1), [batch, pastLength + seq]),
  };
  if (withPositions) feeds.position_ids = int64(Array.from({ length: batch * seq }, (_, i) => pastLength + (i % seq)), [batch, seq]);
  return feeds;
}

export async function createFloorSystem(modelDir: string, workload: Workload, threads: Threads): Promise<BenchSystem> {
  const config = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as { n_layer: number; n_head: number; n_embd: number };
  const shape: Shape = { layers: config.n_layer, heads: config.n_head, headDim: config.n_embd / config.n_head };
  const session = await InferenceSession.create(join(modelDir, 'onnx', 'model.onnx'), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads.intraOp,
    interOpNumThreads: threads.interOp,
    extra: spinningConfig(threads.spinning),
  });
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
    const feeds: Feeds = {
      input_ids: int64(ids, [batch, width]),
      attention_mask: int64(mask, [batch, width]),
      ...(withPositions ? { position_ids: int64(positions, [batch, width]) } : {}),
      ...zeroPast(shape, batch, 0),
    };
    return {
      run: async () => {
        await session.run(feeds);
        return tokens;
      },
      dispose: () => session.release(),
    };
  }

  const prompt = workload.prompt;
  const batch = workload.kind === 'sample' ? workload.candidates : workload.width;
  const newTokens = workload.kind === 'sample' ? workload.sampling.newTokens : workload.newTokens;
  const prefill: Feeds = { ...tokenFeeds(1, prompt, 0, withPositions), ...zeroPast(shape, 1, 0) };
  // Step s (1-based) feeds one token per row after a past of prompt + s - 1 tokens.
  const steps = Array.from({ length: newTokens - 1 }, (_, i) => tokenFeeds(batch, [prompt.at(-1)!], prompt.length + i, withPositions));
  const firstPast = zeroPast(shape, batch, prompt.length);
  return {
    run: async () => {
      await session.run(prefill);
      let past = firstPast;
      for (const step of steps) past = presentAsPast(shape, await session.run({ ...step, ...past }));
      return tokens;
    },
    dispose: () => session.release(),
  };
}
