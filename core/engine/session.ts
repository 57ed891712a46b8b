/** The ONNX decoder session: device choice, one forward step with a key/value cache, cache row ops. */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CudaUnavailableError } from './errors.js';
import type { EngineOptions } from './types.js';

/** Per layer key and value, each [batch, heads, length, headDim], float32. */
export interface KvCache {
  tensors: Tensor[];
  batch: number;
  length: number;
}

export interface ForwardInputs {
  /** [batch, seq] token ids. */
  inputIds: BigInt64Array;
  batch: number;
  seq: number;
  /** [batch, past + seq], 0 on padding. */
  attentionMask: BigInt64Array;
  /** [batch, seq]. */
  positionIds: BigInt64Array;
  /** null: no past (the first step feeds empty past tensors). */
  past: KvCache | null;
}

export interface ForwardOutputs {
  /** [batch, seq, vocab]. */
  logits: Tensor;
  present: KvCache;
}

export interface DecoderShape {
  layers: number;
  heads: number;
  headDim: number;
  vocabSize: number;
}

/**
 * onnxruntime's session config entries for thread spinning: idle worker threads busy-wait for the
 * next op unless told not to. Shared by the benchmark's other systems so that they run alike.
 */
export function spinningConfig(spinning: boolean): Record<string, unknown> {
  const allow = { allow_spinning: spinning ? '1' : '0' };
  // Nested keys are flattened by the binding into `session.intra_op.allow_spinning` etc.
  return { session: { intra_op: allow, inter_op: allow } };
}

function sessionOptions(options: EngineOptions, providers: string[]): InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
    extra: spinningConfig(options.spinning ?? false),
  };
}

/** Creates the session on the requested device; CUDA failures fall back to CPU only when allowed. */
export async function createInferenceSession(
  onnxPath: string,
  options: EngineOptions,
): Promise<{ session: InferenceSession; device: 'cpu' | 'cuda' }> {
  if (options.device === 'cuda') {
    try {
      return { session: await InferenceSession.create(onnxPath, sessionOptions(options, ['cuda'])), device: 'cuda' };
    } catch (error) {
      const unavailable = new CudaUnavailableError(error);
      if (!options.cudaFallback) throw unavailable;
      options.onProgress?.(`warning: ${unavailable.message} Falling back to CPU.`);
    }
  }
  return { session: await InferenceSession.create(onnxPath, sessionOptions(options, ['cpu'])), device: 'cpu' };
}

export class DecoderSession {
  private readonly inputNames: Set<string>;
  /** Reused by `selectRows` to park rows of a cycle of moves. */
  private scratch = new Float32Array(0);

  constructor(
    readonly session: InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.inputNames = new Set(session.inputNames);
  }

  emptyCache(batch: number): KvCache {
    const { layers, heads, headDim } = this.shape;
    const tensors: Tensor[] = [];
    for (let i = 0; i < 2 * layers; i++) tensors.push(new Tensor('float32', new Float32Array(0), [batch, heads, 0, headDim]));
    return { tensors, batch, length: 0 };
  }

  async forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const { batch, seq } = inputs;
    const past = inputs.past ?? this.emptyCache(batch);
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', inputs.inputIds, [batch, seq]),
      attention_mask: new Tensor('int64', inputs.attentionMask, [batch, past.length + seq]),
    };
    if (this.inputNames.has('position_ids')) feeds.position_ids = new Tensor('int64', inputs.positionIds, [batch, seq]);
    // Merged decoders (`decoder_model_merged.onnx`) pick their with-past branch by this input.
    if (this.inputNames.has('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [past.length > 0], [1]);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = past.tensors[2 * layer];
      feeds[`past_key_values.${layer}.value`] = past.tensors[2 * layer + 1];
    }
    const results = await this.session.run(feeds);
    for (const name of ['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch']) feeds[name]?.dispose();
    if (!inputs.past) disposeCache(past);
    const tensors: Tensor[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) {
      tensors.push(results[`present.${layer}.key`], results[`present.${layer}.value`]);
    }
    return { logits: results.logits, present: { tensors, batch, length: past.length + seq } };
  }

  /**
   * A cache holding `rows` of `cache` in that order (rows may repeat: expanding a prompt's cache to
   * N candidates, reordering beams, dropping finished candidates). CONSUMES `cache`: all of its rows
   * in order return it as is, and dropping or reordering rows moves them inside its own buffers
   * (only rows that change are copied, see `planRowMoves`); only a larger batch allocates.
   */
  selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    const identity = rows.length === cache.batch && rows.every((row, i) => row === i);
    if (identity) return cache;
    const { heads, headDim } = this.shape;
    const rowSize = heads * cache.length * headDim;
    const dims = [rows.length, heads, cache.length, headDim];
    if (rows.length > cache.batch) {
      const tensors = cache.tensors.map((tensor) => {
        const source = tensor.data as Float32Array;
        const target = new Float32Array(rows.length * rowSize);
        rows.forEach((row, i) => target.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
        return new Tensor('float32', target, dims);
      });
      disposeCache(cache);
      return { tensors, batch: rows.length, length: cache.length };
    }
    const plan = planRowMoves(rows);
    const slots = plan.reduce((most, move) => Math.max(most, move.from < 0 ? -move.from : 0), 0);
    if (this.scratch.length < slots * rowSize) this.scratch = new Float32Array(slots * rowSize);
    const tensors = cache.tensors.map((tensor) => {
      const data = tensor.data as Float32Array;
      for (const { from, to } of plan) {
        if (to < 0) this.scratch.set(data.subarray(from * rowSize, (from + 1) * rowSize), (-to - 1) * rowSize);
        else if (from < 0) data.set(this.scratch.subarray((-from - 1) * rowSize, -from * rowSize), to * rowSize);
        else data.copyWithin(to * rowSize, from * rowSize, (from + 1) * rowSize);
      }
      return new Tensor('float32', data.subarray(0, rows.length * rowSize), dims);
    });
    disposeCache(cache);
    return { tensors, batch: rows.length, length: cache.length };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** One row copy: a row index, or scratch slot k as -(k + 1). */
interface RowMove {
  from: number;
  to: number;
}

/**
 * Orders the row copies that make row i hold old row rows[i] (rows no longer than the batch), each
 * row read before it is overwritten: a copy runs once its target is no longer needed as a source;
 * a cycle (beams swapping places) parks one row in a scratch slot first. Rows already in place cost
 * nothing.
 */
export function planRowMoves(rows: readonly number[]): RowMove[] {
  const pending = new Map<number, number>();
  rows.forEach((source, target) => {
    if (source !== target) pending.set(target, source);
  });
  const readers = new Map<number, number>();
  for (const source of pending.values()) readers.set(source, (readers.get(source) ?? 0) + 1);
  const plan: RowMove[] = [];
  let slots = 0;
  while (pending.size > 0) {
    let progressed = false;
    for (const [target, source] of pending) {
      if ((readers.get(target) ?? 0) > 0) continue;
      plan.push({ from: source, to: target });
      pending.delete(target);
      readers.set(source, readers.get(source)! - 1);
      progressed = true;
    }
    if (progressed) continue;
    // Only cycles are left: park one of their rows and let its readers take it from the scratch slot.
    const parked = pending.keys().next().value!;
    const slot = -(++slots);
    plan.push({ from: parked, to: slot });
    for (const [target, source] of pending) if (source === parked) pending.set(target, slot);
    readers.set(parked, 0);
  }
  return plan;
}

export function disposeCache(cache: KvCache): void {
  for (const tensor of cache.tensors) tensor.dispose();
}
