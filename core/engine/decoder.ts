/**
 * Forward passes of the ONNX decoder with a key/value cache whose rows are independent sequences
 * (candidates of one turn, or of several turns decoding together), for the two graph layouts a
 * model folder may hold:
 * - `ConcatCacheDecoder`: the standard "decoder with past" (onnx/model.onnx as optimum, transformers.js
 *   and DialoGPT exports have it): the graph returns present = concat(past, new) every step, so rows
 *   are kept right-aligned and shorter ones are masked on the left;
 * - `SlotCacheDecoder`: banter's slot-cache graph (onnx/decoder_slot_cache.onnx): the cache is a
 *   buffer with room for the tokens to come; the graph reads it in place and returns only the new
 *   tokens' keys and values, which this class writes at each row's own next free slot.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { floatArray, halfToFloat, type FloatArray, type FloatType } from './dtype.js';
import { planRowMoves, type KvCache } from './kv-cache.js';
import { logSumExp } from './sampling.js';

/** A pass without cache over left-padded rows (scoring). */
export interface PaddedInputs {
  /** [batch, seq] token ids. */
  inputIds: BigInt64Array;
  batch: number;
  seq: number;
  /** [batch, seq], 0 on padding. */
  attentionMask: BigInt64Array;
  /** [batch, seq]. */
  positionIds: BigInt64Array;
}

export interface Scores {
  /** [batch, seq, vocab] as float32 (float16 graphs' logits are widened once per pass). */
  logits: Float32Array;
  /** [batch * seq]: log sum exp of each position's logits, where the graph computes it (slot cache). */
  logNorms?: Float32Array;
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

export type DecoderGraph = 'slot-cache' | 'standard';

/** A float32 view of an output tensor's values (float16 ones widened), after which the tensor is freed. */
export function floatValues(tensor: Tensor): Float32Array {
  const data = tensor.type === 'float16' ? halfToFloat(tensor.data as Uint16Array) : (tensor.data as Float32Array);
  tensor.dispose();
  return data;
}

/** What each forward pass of a cache's rows feeds besides the cache: per-row positions and masks (also the GPU decoder's). */
export function stepFeeds(tokens: readonly (readonly number[])[], lengths: readonly number[], maskRow: (row: number, mask: BigInt64Array) => void, width: number) {
  const batch = tokens.length;
  const seq = tokens[0].length;
  const inputIds = new BigInt64Array(batch * seq);
  const positionIds = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * width);
  for (let row = 0; row < batch; row++) {
    for (let i = 0; i < seq; i++) {
      inputIds[row * seq + i] = BigInt(tokens[row][i]);
      positionIds[row * seq + i] = BigInt(lengths[row] + i);
    }
    maskRow(row, mask.subarray(row * width, (row + 1) * width));
  }
  return {
    input_ids: new Tensor('int64', inputIds, [batch, seq]),
    attention_mask: new Tensor('int64', mask, [batch, width]),
    position_ids: new Tensor('int64', positionIds, [batch, seq]),
  };
}

/** The feeds of a pass without cache over left-padded rows, besides the cache inputs. */
export function paddedFeeds(inputs: PaddedInputs): Record<string, Tensor> {
  return {
    input_ids: new Tensor('int64', inputs.inputIds, [inputs.batch, inputs.seq]),
    attention_mask: new Tensor('int64', inputs.attentionMask, [inputs.batch, inputs.seq]),
    position_ids: new Tensor('int64', inputs.positionIds, [inputs.batch, inputs.seq]),
  };
}

/** A slot-cache pass's feeds besides the cache: row r attends its slots [0, lengths[r]) and the new tokens. */
export function slotStepFeeds(tokens: readonly (readonly number[])[], lengths: readonly number[], capacity: number): Record<string, Tensor> {
  return stepFeeds(
    tokens,
    lengths,
    (row, mask) => {
      mask.fill(1n, 0, lengths[row]);
      mask.fill(1n, capacity);
    },
    capacity + tokens[0].length,
  );
}

/** A slot-cache scoring pass's feeds besides the cache: one masked slot before every row (the graph never sees zero slots). */
export function slotScoringFeeds(inputs: PaddedInputs): Record<string, Tensor> {
  const mask = new BigInt64Array(inputs.batch * (inputs.seq + 1));
  for (let row = 0; row < inputs.batch; row++) mask.set(inputs.attentionMask.subarray(row * inputs.seq, (row + 1) * inputs.seq), row * (inputs.seq + 1) + 1);
  return {
    input_ids: new Tensor('int64', inputs.inputIds, [inputs.batch, inputs.seq]),
    position_ids: new Tensor('int64', inputs.positionIds, [inputs.batch, inputs.seq]),
    attention_mask: new Tensor('int64', mask, [inputs.batch, inputs.seq + 1]),
  };
}

export abstract class Decoder {
  abstract readonly graph: DecoderGraph;
  private readonly inputNames: Set<string>;

  constructor(
    readonly session: InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.inputNames = new Set(session.inputNames);
  }

  /**
   * Runs `tokens` ([batch][seq], the same count per row) after `cache` (null: fresh rows) and
   * returns their scores and the cache with them appended. CONSUMES `cache`. `reserve`: positions a
   * fresh cache should have room for (the prompt and the tokens to come).
   */
  abstract forward(cache: KvCache | null, tokens: readonly (readonly number[])[], reserve?: number): Promise<{ scores: Scores; cache: KvCache }>;

  /** Logits of a pass without cache over left-padded rows whose cache is not wanted (scoring). */
  abstract logitsOnly(inputs: PaddedInputs): Promise<Scores>;

  /**
   * A cache holding `rows` of `cache` in that order (rows may repeat: expanding a prompt's row to N
   * candidates, reordering beams, dropping finished rows). CONSUMES `cache`; only rows that change
   * are copied, in place where room allows.
   */
  abstract selectRows(cache: KvCache, rows: readonly number[]): KvCache;

  /** `target`'s rows followed by `source`'s (a turn joining the batch). CONSUMES both. */
  abstract append(target: KvCache | null, source: KvCache): KvCache;

  /**
   * `target`'s rows followed by `rows` of `source` (a prompt's row repeated per candidate). CONSUMES
   * both. `rowLimit`: rows the batch will not grow past (room is not reserved beyond it).
   */
  appendRows(target: KvCache | null, source: KvCache, rows: readonly number[], _rowLimit = Infinity): KvCache {
    return this.append(target, this.selectRows(source, rows));
  }

  /** Frees `cache` (it must not be used afterwards). */
  dispose(cache: KvCache): void {
    for (const tensor of cache.tensors) tensor.dispose();
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  protected rowSize(capacity: number): number {
    return this.shape.kvHeads * capacity * this.shape.headDim;
  }

  protected cacheTensor(data: FloatArray, batch: number, capacity: number): Tensor {
    return new Tensor(this.shape.cacheType, data, [batch, this.shape.kvHeads, capacity, this.shape.headDim]);
  }

  /** Runs the session; drops feeds the graph does not take (position_ids of older exports). */
  protected async run(feeds: Record<string, Tensor>): Promise<InferenceSession.ReturnType> {
    for (const name of Object.keys(feeds)) if (!this.inputNames.has(name)) delete feeds[name];
    return this.session.run(feeds);
  }

  protected takes(name: string): boolean {
    return this.inputNames.has(name);
  }
}

/** The standard graph: `past_key_values.{i}.key|value` in, `present.{i}.key|value` = concat(past, new) out. */
export class ConcatCacheDecoder extends Decoder {
  readonly graph = 'standard';

  async forward(cache: KvCache | null, tokens: readonly (readonly number[])[]): Promise<{ scores: Scores; cache: KvCache }> {
    const batch = tokens.length;
    const seq = tokens[0].length;
    const past = cache?.capacity ?? 0;
    const lengths = cache?.lengths ?? new Array<number>(batch).fill(0);
    const feeds: Record<string, Tensor> = stepFeeds(tokens, lengths, (row, mask) => mask.fill(1n, past - lengths[row]), past + seq);
    // Merged decoders (`decoder_model_merged.onnx`) pick their with-past branch by this input.
    if (this.takes('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [past > 0], [1]);
    const tensors = cache?.tensors ?? Array.from({ length: 2 * this.shape.layers }, () => this.cacheTensor(floatArray(this.shape.cacheType, 0), batch, 0));
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = tensors[2 * layer];
      feeds[`past_key_values.${layer}.value`] = tensors[2 * layer + 1];
    }
    const results = await this.run(feeds);
    for (const tensor of Object.values(feeds)) tensor.dispose();
    const present: Tensor[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) present.push(results[`present.${layer}.key`], results[`present.${layer}.value`]);
    return {
      scores: { logits: floatValues(results.logits) },
      cache: { tensors: present, batch, capacity: past + seq, lengths: lengths.map((length) => length + seq) },
    };
  }

  async logitsOnly(inputs: PaddedInputs): Promise<Scores> {
    const feeds = paddedFeeds(inputs);
    if (this.takes('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [false], [1]);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      for (const kind of ['key', 'value']) feeds[`past_key_values.${layer}.${kind}`] = this.cacheTensor(floatArray(this.shape.cacheType, 0), inputs.batch, 0);
    }
    const results = await this.run(feeds);
    for (const [name, tensor] of Object.entries(results)) if (name !== 'logits') tensor.dispose();
    return { logits: floatValues(results.logits) };
  }

  selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    if (rows.length === cache.batch && rows.every((row, i) => row === i)) return cache;
    const size = this.rowSize(cache.capacity);
    const lengths = rows.map((row) => cache.lengths[row]);
    const tensors = cache.tensors.map((tensor) => {
      const source = tensor.data as FloatArray;
      if (rows.length > cache.batch) {
        const target = floatArray(this.shape.cacheType, rows.length * size);
        rows.forEach((row, i) => target.set(source.subarray(row * size, (row + 1) * size), i * size));
        return this.cacheTensor(target, rows.length, cache.capacity);
      }
      moveRows(source, rows, size);
      return this.cacheTensor(source.subarray(0, rows.length * size), rows.length, cache.capacity);
    });
    this.dispose(cache);
    return { tensors, batch: rows.length, capacity: cache.capacity, lengths };
  }

  append(target: KvCache | null, source: KvCache): KvCache {
    if (!target || target.batch === 0) return source;
    // Rows stay right-aligned: the shorter cache's rows get masked padding on the left.
    const capacity = Math.max(target.capacity, source.capacity);
    const batch = target.batch + source.batch;
    const { kvHeads, headDim } = this.shape;
    const tensors = target.tensors.map((tensor, t) => {
      const joined = floatArray(this.shape.cacheType, batch * this.rowSize(capacity));
      let row = 0;
      for (const part of [{ cache: target, data: tensor.data as FloatArray }, { cache: source, data: source.tensors[t].data as FloatArray }]) {
        const block = part.cache.capacity * headDim;
        for (let r = 0; r < part.cache.batch; r++, row++) {
          for (let head = 0; head < kvHeads; head++) {
            const from = (r * kvHeads + head) * block;
            joined.set(part.data.subarray(from, from + block), ((row * kvHeads + head) * capacity + capacity - part.cache.capacity) * headDim);
          }
        }
      }
      return this.cacheTensor(joined, batch, capacity);
    });
    const lengths = [...target.lengths, ...source.lengths];
    this.dispose(target);
    this.dispose(source);
    return { tensors, batch, capacity, lengths };
  }
}

/** Reorders rows of `data` (each `size` long) in place so that row i holds old row rows[i]; rows fit the array. */
function moveRows(data: FloatArray, rows: readonly number[], size: number, scratch?: { array: FloatArray }): void {
  const plan = planRowMoves(rows);
  const slots = plan.reduce((most, move) => Math.max(most, move.from < 0 ? -move.from : 0), 0);
  let parked = scratch?.array;
  if (!parked || parked.length < slots * size) parked = data instanceof Uint16Array ? new Uint16Array(slots * size) : new Float32Array(slots * size);
  if (scratch) scratch.array = parked;
  for (const { from, to } of plan) {
    if (to < 0) parked.set(data.subarray(from * size, (from + 1) * size), (-to - 1) * size);
    else if (from < 0) data.set(parked.subarray((-from - 1) * size, -from * size), to * size);
    else data.copyWithin(to * size, from * size, (from + 1) * size);
  }
}

/** What a slot-cache decoder keeps of released buffers for reuse (banter-chat's 16-candidate cache: 39 MB). */
const MAX_POOLED_BYTES = 256 * 1024 * 1024;

/** Slot capacity grows in steps of this many positions, so that joining turns rarely re-lay the cache out. */
const CAPACITY_STEP = 64;

/**
 * banter's slot-cache graph: `cache.{i}.key|value` [batch, kvHeads, slots, headDim] in, with
 * attention_mask [batch, slots + seq] (0 on free slots); `cache_update.{i}.key|value` [batch,
 * kvHeads, seq, headDim] and each position's `log_normalizer` out. Nothing proportional to the cache
 * is copied per step: the graph reads the buffers in place and this class writes each row's update
 * into that row's next free slot. The graph always sees at least one slot (a fresh cache's are all
 * masked): zero-length tensors crash some execution providers.
 */
export class SlotCacheDecoder extends Decoder {
  readonly graph = 'slot-cache';
  /**
   * Buffers of disposed caches, reused by the next ones: fresh pages and their faults otherwise
   * cost on every turn. Holds at most `MAX_POOLED_BYTES`, so one long prompt does not pin its
   * cache's memory for good.
   */
  private readonly free: FloatArray[] = [];
  private readonly scratch = { array: floatArray(this.shape.cacheType, 0) };

  override dispose(cache: KvCache): void {
    for (const buffer of cache.buffers ?? []) this.free.push(buffer);
    for (const tensor of cache.tensors) tensor.dispose();
    this.free.sort((a, b) => b.length - a.length);
    let bytes = 0;
    const kept = this.free.filter((buffer) => {
      if (bytes + buffer.byteLength > MAX_POOLED_BYTES) return false;
      bytes += buffer.byteLength;
      return true;
    });
    this.free.splice(0, this.free.length, ...kept.slice(0, 4 * this.shape.layers));
  }

  /** The smallest free buffer that fits (zeroed: free slots must hold finite values), else a new one. */
  private buffer(length: number): FloatArray {
    let best = -1;
    this.free.forEach((buffer, i) => {
      if (buffer.length >= length && (best < 0 || buffer.length < this.free[best].length)) best = i;
    });
    if (best < 0) return floatArray(this.shape.cacheType, length);
    const [buffer] = this.free.splice(best, 1);
    // Only the first `length` values are ever viewed; zeroing a larger pooled buffer whole would cost more than the pass.
    return buffer.fill(0, 0, length);
  }

  private allocate(rows: number, capacity: number): KvCache {
    const buffers = Array.from({ length: 2 * this.shape.layers }, () => this.buffer(rows * this.rowSize(capacity)));
    return this.withViews({ tensors: [], batch: 0, capacity, lengths: [], buffers, rowCapacity: rows }, 0, []);
  }

  /** `cache` with `batch` rows of the given lengths, its tensors viewing the first rows of its buffers. */
  private withViews(cache: KvCache, batch: number, lengths: number[]): KvCache {
    for (const tensor of cache.tensors) tensor.dispose();
    const size = this.rowSize(cache.capacity);
    const tensors = cache.buffers!.map((buffer) => this.cacheTensor(buffer.subarray(0, batch * size), batch, cache.capacity));
    return { ...cache, tensors, batch, lengths };
  }

  /** A copy of `cache` with room for `rows` rows and `capacity` slots per row. */
  private relayout(cache: KvCache, rows: number, capacity: number): KvCache {
    const grown = this.allocate(rows, capacity);
    const { kvHeads, headDim } = this.shape;
    cache.buffers!.forEach((source, t) => {
      const target = grown.buffers![t];
      if (capacity === cache.capacity) {
        target.set(source.subarray(0, cache.batch * this.rowSize(capacity)));
        return;
      }
      for (let block = 0; block < cache.batch * kvHeads; block++) {
        const from = block * cache.capacity * headDim;
        target.set(source.subarray(from, from + cache.capacity * headDim), block * capacity * headDim);
      }
    });
    const lengths = cache.lengths;
    const batch = cache.batch;
    this.dispose(cache);
    return this.withViews(grown, batch, lengths);
  }

  private roundCapacity(positions: number): number {
    return Math.max(CAPACITY_STEP, Math.ceil(positions / CAPACITY_STEP) * CAPACITY_STEP);
  }

  async forward(cache: KvCache | null, tokens: readonly (readonly number[])[], reserve = 0): Promise<{ scores: Scores; cache: KvCache }> {
    const batch = tokens.length;
    const seq = tokens[0].length;
    let current = cache ?? this.withViews(this.allocate(batch, Math.max(1, reserve, seq)), batch, new Array<number>(batch).fill(0));
    const needed = Math.max(...current.lengths) + seq;
    // A too-small reserve grows the buffers by steps (rarely: the scheduler reserves what turns need).
    if (needed > current.capacity) current = this.relayout(current, current.rowCapacity!, this.roundCapacity(Math.max(needed, 2 * current.capacity)));
    const { capacity, lengths } = current;
    const feeds = slotStepFeeds(tokens, lengths, capacity);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`cache.${layer}.key`] = current.tensors[2 * layer];
      feeds[`cache.${layer}.value`] = current.tensors[2 * layer + 1];
    }
    const results = await this.run(feeds);
    for (const name of ['input_ids', 'attention_mask', 'position_ids']) feeds[name]?.dispose();
    this.write(current, results, seq);
    return { scores: { logits: floatValues(results.logits), logNorms: floatValues(results.log_normalizer) }, cache: current };
  }

  async logitsOnly(inputs: PaddedInputs): Promise<Scores> {
    // One masked slot per row: nothing is attended there.
    const feeds = slotScoringFeeds(inputs);
    const empty = floatArray(this.shape.cacheType, inputs.batch * this.rowSize(1));
    for (let layer = 0; layer < this.shape.layers; layer++) {
      for (const kind of ['key', 'value']) feeds[`cache.${layer}.${kind}`] = this.cacheTensor(empty, inputs.batch, 1);
    }
    const results = await this.run(feeds);
    for (const [name, tensor] of Object.entries(results)) if (name.startsWith('cache_update')) tensor.dispose();
    return { logits: floatValues(results.logits), logNorms: floatValues(results.log_normalizer) };
  }

  selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    if (rows.length === cache.batch && rows.every((row, i) => row === i)) return cache;
    let current = cache;
    if (rows.length > current.rowCapacity!) current = this.relayout(current, Math.max(rows.length, 2 * current.rowCapacity!), current.capacity);
    const size = this.rowSize(current.capacity);
    for (const buffer of current.buffers!) moveRows(buffer, rows, size, this.scratch);
    return this.withViews(current, rows.length, rows.map((row) => current.lengths[row]));
  }

  append(target: KvCache | null, source: KvCache): KvCache {
    return this.appendRows(target, source, source.lengths.map((_, row) => row));
  }

  /** Copies the chosen rows straight into the batch: a prompt's row expanded to N candidates is never laid out twice. */
  override appendRows(target: KvCache | null, source: KvCache, rows: readonly number[], rowLimit = Infinity): KvCache {
    if (!target || target.batch === 0) {
      if (target) this.dispose(target);
      return this.selectRows(source, rows);
    }
    const batch = target.batch + rows.length;
    const capacity = Math.max(target.capacity, source.capacity);
    let current = target;
    if (capacity > current.capacity || batch > current.rowCapacity!) {
      // Room doubles (joins rarely re-lay the batch out), but not past the batch's row limit: memory stays bounded.
      const room = batch > current.rowCapacity! ? Math.max(batch, Math.min(2 * current.rowCapacity!, rowLimit)) : current.rowCapacity!;
      current = this.relayout(current, room, this.roundCapacity(capacity));
    }
    const { kvHeads, headDim } = this.shape;
    current.buffers!.forEach((buffer, t) => {
      const from = source.buffers![t];
      rows.forEach((r, i) => {
        for (let head = 0; head < kvHeads; head++) {
          const start = (r * kvHeads + head) * source.capacity * headDim;
          const to = ((current.batch + i) * kvHeads + head) * current.capacity * headDim;
          buffer.set(from.subarray(start, start + source.lengths[r] * headDim), to);
        }
      });
    });
    const lengths = [...current.lengths, ...rows.map((r) => source.lengths[r])];
    this.dispose(source);
    return this.withViews(current, batch, lengths);
  }

  /** Writes each row's [kvHeads, seq, headDim] update at its slots [length, length + seq). */
  private write(cache: KvCache, results: InferenceSession.ReturnType, seq: number): void {
    const { kvHeads, headDim, layers } = this.shape;
    const run = seq * headDim;
    for (let layer = 0; layer < layers; layer++) {
      ['key', 'value'].forEach((kind, k) => {
        const update = results[`cache_update.${layer}.${kind}`];
        const source = update.data as FloatArray;
        const target = cache.buffers![2 * layer + k];
        for (let row = 0; row < cache.batch; row++) {
          for (let head = 0; head < kvHeads; head++) {
            const block = row * kvHeads + head;
            target.set(source.subarray(block * run, (block + 1) * run), (block * cache.capacity + cache.lengths[row]) * headDim);
          }
        }
        update.dispose();
      });
    }
    for (let row = 0; row < cache.batch; row++) cache.lengths[row] += seq;
  }
}
