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

function sessionOptions(options: EngineOptions, providers: string[]): InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
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
   * N candidates, reordering beams, dropping finished candidates).
   */
  gatherRows(cache: KvCache, rows: readonly number[]): KvCache {
    const { heads, headDim } = this.shape;
    const rowSize = heads * cache.length * headDim;
    const tensors = cache.tensors.map((tensor) => {
      const source = tensor.data as Float32Array;
      const target = new Float32Array(rows.length * rowSize);
      rows.forEach((row, i) => target.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
      return new Tensor('float32', target, [rows.length, heads, cache.length, headDim]);
    });
    return { tensors, batch: rows.length, length: cache.length };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export function disposeCache(cache: KvCache): void {
  for (const tensor of cache.tensors) tensor.dispose();
}
