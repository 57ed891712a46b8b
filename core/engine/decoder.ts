/**
 * One forward step of the ONNX decoder with a key/value cache, for the two graph layouts a model
 * folder may hold:
 * - `ConcatCacheDecoder`: the standard "decoder with past" (onnx/model.onnx as optimum, transformers.js
 *   and DialoGPT exports have it): the graph returns present = concat(past, new) every step;
 * - `SlotCacheDecoder`: banter's slot-cache graph (onnx/decoder_slot_cache.onnx, written by
 *   tools/gpt2/slot_cache.py): the cache is a buffer with room for the tokens to come, the graph reads
 *   it in place and returns only the new tokens' keys and values, which are written into free slots.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { floatArray, halfToFloat, type FloatArray, type FloatType } from './dtype.js';
import { planRowMoves, type KvCache } from './kv-cache.js';
import { logSumExp } from './sampling.js';

export interface ForwardInputs {
  /** [batch, seq] token ids. */
  inputIds: BigInt64Array;
  batch: number;
  seq: number;
  /** [batch, past + seq], 0 on padding. */
  attentionMask: BigInt64Array;
  /** [batch, seq]. */
  positionIds: BigInt64Array;
  /** null: no past. CONSUMED: the call owns it (a slot cache is filled in place and returned). */
  past: KvCache | null;
  /** Positions the returned cache should have room for (prompt + tokens to come); a hint. */
  reserve?: number;
}

export interface Scores {
  /** [batch, seq, vocab] as float32 (float16 graphs' logits are widened once per pass). */
  logits: Float32Array;
  /** [batch * seq]: log sum exp of each position's logits, where the graph computes it (slot cache). */
  logNorms?: Float32Array;
}

export interface ForwardOutputs extends Scores {
  present: KvCache;
}

/** The log-normaliser of position `index` of `scores`, whose logits are `row`. */
export function logNormOf(scores: Scores, index: number, row: Float32Array): number {
  return scores.logNorms?.[index] ?? logSumExp(row);
}

export interface DecoderShape {
  layers: number;
  /** Key/value heads: the cache's second dimension (fewer than query heads with grouped-query attention). */
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Element type of the key/value cache (float16 for fp16 and q4f16 graphs). */
  cacheType: FloatType;
}

/** A float32 view of an output tensor's values (float16 ones widened), after which the tensor is freed. */
export function floatValues(tensor: Tensor): Float32Array {
  const data = tensor.type === 'float16' ? halfToFloat(tensor.data as Uint16Array) : (tensor.data as Float32Array);
  tensor.dispose();
  return data;
}

export type DecoderGraph = 'slot-cache' | 'standard';

export abstract class Decoder {
  abstract readonly graph: DecoderGraph;
  /** Reused by `selectRows` to park rows of a cycle of moves. */
  private scratch: FloatArray;

  constructor(
    readonly session: InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.scratch = floatArray(shape.cacheType, 0);
  }

  abstract forward(inputs: ForwardInputs): Promise<ForwardOutputs>;

  /** Logits of a pass without past whose cache is not wanted (scoring). */
  abstract logitsOnly(inputs: Omit<ForwardInputs, 'past' | 'reserve'>): Promise<Scores>;

  /** Frees `cache` (it must not be used afterwards). */
  dispose(cache: KvCache): void {
    for (const tensor of cache.tensors) tensor.dispose();
  }

  /** A buffer of `length` floats for cache rows: zero-filled, unless the caller overwrites all of it. */
  protected buffer(length: number, _overwritten = false): FloatArray {
    return floatArray(this.shape.cacheType, length);
  }

  protected cacheTensor(data: FloatArray, dims: readonly number[]): Tensor {
    return new Tensor(this.shape.cacheType, data, dims);
  }

  /** Empty per-layer tensors [batch, kvHeads, 0, headDim]: a pass without past. */
  protected emptyPast(batch: number): Tensor[] {
    const { layers, kvHeads, headDim } = this.shape;
    return Array.from({ length: 2 * layers }, () => this.cacheTensor(this.buffer(0), [batch, kvHeads, 0, headDim]));
  }

  protected tokenFeeds(inputs: Omit<ForwardInputs, 'past' | 'reserve'>, maskWidth: number, mask: BigInt64Array): Record<string, Tensor> {
    const { batch, seq } = inputs;
    return {
      input_ids: new Tensor('int64', inputs.inputIds, [batch, seq]),
      attention_mask: new Tensor('int64', mask, [batch, maskWidth]),
      position_ids: new Tensor('int64', inputs.positionIds, [batch, seq]),
    };
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
    const { kvHeads, headDim } = this.shape;
    const rowSize = kvHeads * cache.capacity * headDim;
    const dims = [rows.length, kvHeads, cache.capacity, headDim];
    const resized = (tensors: Tensor[]): KvCache => ({ tensors, batch: rows.length, length: cache.length, capacity: cache.capacity });
    if (rows.length > cache.batch) {
      const tensors = cache.tensors.map((tensor) => {
        const source = tensor.data as FloatArray;
        const target = this.buffer(rows.length * rowSize, true);
        rows.forEach((row, i) => target.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize));
        return this.cacheTensor(target, dims);
      });
      this.dispose(cache);
      return resized(tensors);
    }
    const plan = planRowMoves(rows);
    const slots = plan.reduce((most, move) => Math.max(most, move.from < 0 ? -move.from : 0), 0);
    if (this.scratch.length < slots * rowSize) this.scratch = floatArray(this.shape.cacheType, slots * rowSize);
    const scratch = this.scratch;
    const tensors = cache.tensors.map((tensor) => {
      const data = tensor.data as FloatArray;
      for (const { from, to } of plan) {
        if (to < 0) scratch.set(data.subarray(from * rowSize, (from + 1) * rowSize), (-to - 1) * rowSize);
        else if (from < 0) data.set(scratch.subarray((-from - 1) * rowSize, -from * rowSize), to * rowSize);
        else data.copyWithin(to * rowSize, from * rowSize, (from + 1) * rowSize);
      }
      return this.cacheTensor(data.subarray(0, rows.length * rowSize), dims);
    });
    for (const tensor of cache.tensors) tensor.dispose();
    return resized(tensors);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function disposeAll(tensors: Record<string, Tensor>): void {
  for (const tensor of Object.values(tensors)) tensor.dispose();
}

/** The standard graph: `past_key_values.{i}.key|value` in, `present.{i}.key|value` = concat(past, new) out. */
export class ConcatCacheDecoder extends Decoder {
  readonly graph = 'standard';
  private readonly inputNames: Set<string>;

  constructor(session: InferenceSession, shape: DecoderShape) {
    super(session, shape);
    this.inputNames = new Set(session.inputNames);
  }

  async forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const { batch, seq } = inputs;
    const pastLength = inputs.past?.length ?? 0;
    const past = inputs.past?.tensors ?? this.emptyPast(batch);
    const feeds = this.tokenFeeds(inputs, pastLength + seq, inputs.attentionMask);
    if (!this.inputNames.has('position_ids')) delete feeds.position_ids;
    // Merged decoders (`decoder_model_merged.onnx`) pick their with-past branch by this input.
    if (this.inputNames.has('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [pastLength > 0], [1]);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = past[2 * layer];
      feeds[`past_key_values.${layer}.value`] = past[2 * layer + 1];
    }
    const results = await this.session.run(feeds);
    disposeAll(feeds);
    const tensors: Tensor[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) {
      tensors.push(results[`present.${layer}.key`], results[`present.${layer}.value`]);
    }
    const length = pastLength + seq;
    return { logits: floatValues(results.logits), present: { tensors, batch, length, capacity: length } };
  }

  async logitsOnly(inputs: Omit<ForwardInputs, 'past' | 'reserve'>): Promise<Scores> {
    const { logits, present } = await this.forward({ ...inputs, past: null });
    this.dispose(present);
    return { logits };
  }
}

/** What a slot-cache decoder keeps of finished caches for reuse (banter-chat's 16-candidate cache: 39 MB). */
const MAX_POOLED_BYTES = 256 * 1024 * 1024;

/**
 * banter's slot-cache graph: `cache.{i}.key|value` [batch, heads, slots, headDim] in, with
 * attention_mask [batch, slots + seq] (0 on free slots); `cache_update.{i}.key|value` [batch, heads,
 * seq, headDim] and each position's `log_normalizer` out. Nothing proportional to the cache is copied
 * per step: the graph reads the buffers in place and this class writes the updates into the next
 * free slots.
 */
export class SlotCacheDecoder extends Decoder {
  readonly graph = 'slot-cache';
  /**
   * Buffers of disposed caches, reused by the next ones: a reply's cache (39 MB for 16 candidates on
   * banter-chat) otherwise costs fresh pages and their faults on every turn. Holds at most two
   * caches' worth (the prompt's and the candidates') and `MAX_POOLED_BYTES`, so that one long prompt
   * does not pin its cache's memory for good.
   */
  private readonly free: FloatArray[] = [];

  override dispose(cache: KvCache): void {
    for (const tensor of cache.tensors) {
      const data = tensor.data as FloatArray;
      const whole = data instanceof Uint16Array ? new Uint16Array(data.buffer) : new Float32Array(data.buffer);
      this.free.push(whole);
      tensor.dispose();
    }
    this.free.sort((a, b) => b.length - a.length);
    let bytes = 0;
    const kept = this.free.filter((buffer) => {
      if (bytes + buffer.byteLength > MAX_POOLED_BYTES) return false;
      bytes += buffer.byteLength;
      return true;
    });
    this.free.splice(0, this.free.length, ...kept.slice(0, 4 * this.shape.layers));
  }

  /** The smallest free buffer that fits (zeroed unless `overwritten`), else a new one. */
  protected override buffer(length: number, overwritten = false): FloatArray {
    let best = -1;
    this.free.forEach((buffer, i) => {
      if (buffer.length >= length && (best < 0 || buffer.length < this.free[best].length)) best = i;
    });
    if (best < 0) return floatArray(this.shape.cacheType, length);
    const [buffer] = this.free.splice(best, 1);
    const view = buffer.subarray(0, length);
    return overwritten ? view : view.fill(0);
  }

  async forward(inputs: ForwardInputs): Promise<ForwardOutputs> {
    const { batch, seq } = inputs;
    const past = inputs.past;
    const length = past?.length ?? 0;
    const slots = past?.capacity ?? 0;
    const { scores, updates } = await this.run(inputs, past?.tensors ?? this.emptyPast(batch), length, slots);
    const wanted = Math.max(length + seq, inputs.reserve ?? 0);
    let cache = past ?? this.allocate(batch, wanted);
    // Doubling keeps a too-small reserve from costing a copy on every later step.
    if (cache.capacity < length + seq) cache = this.grow(cache, Math.max(wanted, 2 * cache.capacity));
    this.write(cache, updates, seq);
    return { ...scores, present: cache };
  }

  async logitsOnly(inputs: Omit<ForwardInputs, 'past' | 'reserve'>): Promise<Scores> {
    const { scores, updates } = await this.run(inputs, this.emptyPast(inputs.batch), 0, 0);
    for (const update of updates) update.dispose();
    return scores;
  }

  private async run(inputs: Omit<ForwardInputs, 'past' | 'reserve'>, cache: Tensor[], length: number, slots: number) {
    const { batch, seq } = inputs;
    // The caller's mask covers [past, new]; the graph's covers [every slot, new], free slots 0.
    const width = slots + seq;
    const mask = new BigInt64Array(batch * width);
    for (let row = 0; row < batch; row++) {
      const from = inputs.attentionMask.subarray(row * (length + seq), (row + 1) * (length + seq));
      mask.set(from.subarray(0, length), row * width);
      mask.set(from.subarray(length), row * width + slots);
    }
    const feeds = this.tokenFeeds(inputs, width, mask);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`cache.${layer}.key`] = cache[2 * layer];
      feeds[`cache.${layer}.value`] = cache[2 * layer + 1];
    }
    const results = await this.session.run(feeds);
    for (const name of ['input_ids', 'attention_mask', 'position_ids']) feeds[name].dispose();
    const updates: Tensor[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) {
      updates.push(results[`cache_update.${layer}.key`], results[`cache_update.${layer}.value`]);
    }
    const logNorms = floatValues(results.log_normalizer);
    return { scores: { logits: floatValues(results.logits), logNorms }, updates };
  }

  private allocate(batch: number, capacity: number): KvCache {
    const { layers, kvHeads, headDim } = this.shape;
    const dims = [batch, kvHeads, capacity, headDim];
    const tensors = Array.from({ length: 2 * layers }, () => this.cacheTensor(this.buffer(batch * kvHeads * capacity * headDim), dims));
    return { tensors, batch, length: 0, capacity };
  }

  /** A larger buffer holding `cache`'s filled positions (a caller's reserve was too small). */
  private grow(cache: KvCache, capacity: number): KvCache {
    const grown = this.allocate(cache.batch, capacity);
    const { headDim } = this.shape;
    const filled = cache.length * headDim;
    cache.tensors.forEach((tensor, i) => {
      const source = tensor.data as FloatArray;
      const target = grown.tensors[i].data as FloatArray;
      for (let block = 0; block < cache.batch * this.shape.kvHeads; block++) {
        target.set(source.subarray(block * cache.capacity * headDim, block * cache.capacity * headDim + filled) , block * capacity * headDim);
      }
    });
    this.dispose(cache);
    return { ...grown, length: cache.length };
  }

  /** Writes each [batch, heads, seq, headDim] update at slots [length, length + seq), then disposes it. */
  private write(cache: KvCache, updates: Tensor[], seq: number): void {
    const { headDim } = this.shape;
    const run = seq * headDim;
    updates.forEach((update, i) => {
      const source = update.data as FloatArray;
      const target = cache.tensors[i].data as FloatArray;
      for (let block = 0; block < cache.batch * this.shape.kvHeads; block++) {
        target.set(source.subarray(block * run, (block + 1) * run) , (block * cache.capacity + cache.length) * headDim);
      }
      update.dispose();
    });
    cache.length += seq;
  }
}
