/**
 * Decoders for GPU execution providers whose key/value cache stays in device memory from step to
 * step (`preferredOutputLocation: 'gpu-buffer'`). Nothing proportional to the cache crosses to the
 * host: row selection (expanding a prompt's row, reordering beams, dropping finished rows) and joining
 * batches are recorded and done on the device by a helper session right before the next pass, and a
 * step brings back only float32 logits and their log-normalisers. A device tensor's data is never
 * read from JavaScript (reading `.data` throws; `getData()` aborts the process in onnxruntime-node 1.30).
 * - `GpuCacheDecoder`: the standard graph (`present` = concat(past, new) fed back as past; rows
 *   right-aligned, as in ConcatCacheDecoder), for every model family;
 * - `GpuSlotCacheDecoder` (gpu-slot-decoder.ts): banter's slot-cache graph, whose new entries a
 *   helper writes into the cache on the device.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { Decoder, paddedFeeds, stepFeeds, type DecoderShape, type PaddedInputs, type Scores } from './decoder.js';
import { floatArray, type FloatType } from './dtype.js';
import type { EngineDevice } from './errors.js';
import { GpuCacheHelpers, type Alignment, type RowPart } from './gpu-helpers.js';
import type { KvCache } from './kv-cache.js';

/**
 * A cache whose rows may still be pending moves: `parts` (rows of earlier caches' tensors, in order)
 * are joined on the device by the next pass; until then `tensors` is empty.
 */
export interface GpuKvCache extends KvCache {
  parts?: RowPart[];
}

function partsOf(cache: GpuKvCache): RowPart[] {
  return cache.parts ?? [{ tensors: cache.tensors, batch: cache.batch, capacity: cache.capacity, rows: [...Array(cache.batch).keys()] }];
}

/** Each distinct tensor list the parts refer to (several parts may share one). */
function sources(parts: readonly RowPart[]): Set<Tensor[]> {
  return new Set(parts.map((part) => part.tensors));
}

/** The element type of a session's logits output. */
function logitsType(session: InferenceSession): FloatType {
  const logits = session.outputMetadata.find((meta) => meta.name === 'logits');
  return logits?.isTensor && logits.type === 'float16' ? 'float16' : 'float32';
}

/** What both GPU decoders share: row moves and joins recorded on the cache, done on the device. */
export abstract class GpuDecoder extends Decoder {
  /** Where a row's positions sit in its cache's capacity: at the end (standard graph) or from the start (slot cache). */
  protected abstract readonly alignment: Alignment;
  protected readonly helpers: GpuCacheHelpers;

  /** `session` runs on `device` with its cache outputs in device memory. */
  constructor(session: InferenceSession, shape: DecoderShape, device: EngineDevice) {
    super(session, shape);
    this.helpers = new GpuCacheHelpers(device, shape, logitsType(session));
  }

  /** The cache's tensors with its pending row moves done (on the device), at `capacity` positions per row. */
  protected async materialize(cache: GpuKvCache, capacity = cache.capacity): Promise<Tensor[]> {
    if (!cache.parts && capacity === cache.capacity) return cache.tensors;
    const tensors = await this.helpers.join(partsOf(cache), capacity, this.alignment);
    cache.parts = undefined;
    cache.tensors = tensors;
    cache.capacity = capacity;
    return tensors;
  }

  selectRows(cache: KvCache, rows: readonly number[]): KvCache {
    if (rows.length === cache.batch && rows.every((row, i) => row === i)) return cache;
    const old = partsOf(cache);
    // Which part, and which of its source rows, each row of the cache is.
    const located: { part: number; row: number }[] = [];
    old.forEach((part, k) => part.rows.forEach((row) => located.push({ part: k, row })));
    // Consecutive rows from one part stay one part: a gather of a run of rows.
    const parts: RowPart[] = [];
    for (const index of rows) {
      const { part, row } = located[index];
      const last = parts.at(-1);
      if (last && last.tensors === old[part].tensors) last.rows.push(row);
      else parts.push({ ...old[part], rows: [row] });
    }
    const kept = sources(parts);
    for (const tensors of sources(old)) if (!kept.has(tensors)) for (const tensor of tensors) this.helpers.tensors.free(tensor);
    const selected: GpuKvCache = { tensors: [], batch: rows.length, capacity: cache.capacity, lengths: rows.map((row) => cache.lengths[row]), parts };
    return selected;
  }

  append(target: KvCache | null, source: KvCache): KvCache {
    if (!target || target.batch === 0) {
      if (target) this.dispose(target);
      return source;
    }
    // The shorter cache's rows are padded when joined (before their positions, or after them).
    const joined: GpuKvCache = {
      tensors: [],
      batch: target.batch + source.batch,
      capacity: Math.max(target.capacity, source.capacity),
      lengths: [...target.lengths, ...source.lengths],
      parts: [...partsOf(target), ...partsOf(source)],
    };
    return joined;
  }

  override dispose(cache: KvCache): void {
    for (const tensors of sources(partsOf(cache))) for (const tensor of tensors) this.helpers.tensors.free(tensor);
  }

  /** Every device tensor first (see DeviceTensors), then the helper sessions, then the decoder's. */
  override async release(): Promise<void> {
    await this.helpers.release();
    await super.release();
  }
}

/** The standard graph on the GPU, its presents fed back as the next pass's past. */
export class GpuCacheDecoder extends GpuDecoder {
  readonly graph = 'standard';
  protected readonly alignment = 'end';

  /** The past of a fresh pass: host tensors of 0 positions (the standard graph concatenates onto them). */
  private emptyPast(batch: number): Tensor[] {
    return Array.from({ length: 2 * this.shape.layers }, () => this.cacheTensor(floatArray(this.shape.cacheType, 0), batch, 0));
  }

  private pastFeeds(feeds: Record<string, Tensor>, past: Tensor[], withPast: boolean): void {
    if (this.takes('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [withPast], [1]);
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = past[2 * layer];
      feeds[`past_key_values.${layer}.value`] = past[2 * layer + 1];
    }
  }

  async forward(cache: KvCache | null, tokens: readonly (readonly number[])[]): Promise<{ scores: Scores; cache: KvCache }> {
    const batch = tokens.length;
    const seq = tokens[0].length;
    const past = cache?.capacity ?? 0;
    const lengths = cache?.lengths ?? new Array<number>(batch).fill(0);
    const pastTensors = cache ? await this.materialize(cache) : this.emptyPast(batch);
    const feeds: Record<string, Tensor> = stepFeeds(tokens, lengths, (row, mask) => mask.fill(1n, past - lengths[row]), past + seq);
    this.pastFeeds(feeds, pastTensors, past > 0);
    const results = await this.run(feeds);
    // The pass is done with its past: its device buffers go back to the provider now.
    for (const tensor of Object.values(feeds)) this.helpers.tensors.free(tensor);
    const present: Tensor[] = [];
    for (let layer = 0; layer < this.shape.layers; layer++) present.push(results[`present.${layer}.key`], results[`present.${layer}.value`]);
    this.helpers.tensors.keep(present);
    return {
      scores: await this.helpers.scores(results.logits),
      cache: { tensors: present, batch, capacity: past + seq, lengths: lengths.map((length) => length + seq) },
    };
  }

  async logitsOnly(inputs: PaddedInputs): Promise<Scores> {
    const feeds = paddedFeeds(inputs);
    this.pastFeeds(feeds, this.emptyPast(inputs.batch), false);
    const results = await this.run(feeds);
    for (const [name, tensor] of Object.entries(results)) if (name !== 'logits') tensor.dispose();
    return this.helpers.scores(results.logits);
  }
}
