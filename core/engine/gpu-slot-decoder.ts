/**
 * banter's slot-cache graph on a GPU with its cache in device memory: the graph reads the cache
 * (`cache.{i}.key|value`, rows' positions from slot 0, free slots masked) and returns only the new
 * entries (`cache_update.*`, left on the device), which a ScatterND helper writes at each row's next
 * free slots. That write makes a new buffer (onnxruntime-node cannot bind an output onto an input),
 * a copy on the device as the standard graph's concat is, but the slot graph has far less shape
 * arithmetic than the standard exports (on banter-chat 11 of its 218 nodes run on the CPU under
 * WebGPU, against 258 of the standard graph's 506), and it returns each position's log-normaliser.
 * Logits and log-normalisers come back to host memory; nothing else does.
 */
import { Tensor } from 'onnxruntime-node';
import { floatValues, slotScoringFeeds, slotStepFeeds, type PaddedInputs, type Scores } from './decoder.js';
import { floatArray } from './dtype.js';
import { GpuDecoder, type GpuKvCache } from './gpu-decoder.js';
import type { KvCache } from './kv-cache.js';

/** Slot capacity grows in steps of this many positions (as SlotCacheDecoder's does). */
const CAPACITY_STEP = 64;

/** The outputs a slot-cache session keeps in device memory: the new entries; logits come back. */
export function slotCacheDeviceOutputs(layers: number): string[] {
  return Array.from({ length: 2 * layers }, (_, t) => `cache_update.${t >> 1}.${t % 2 === 0 ? 'key' : 'value'}`);
}

export class GpuSlotCacheDecoder extends GpuDecoder {
  readonly graph = 'slot-cache';
  protected readonly alignment = 'start';

  /** Host tensors of zeros, `slots` per row: a fresh cache (uploaded by its first pass) or scoring's masked slot. */
  private zeros(batch: number, slots: number): Tensor[] {
    const data = floatArray(this.shape.cacheType, batch * this.rowSize(slots));
    return Array.from({ length: 2 * this.shape.layers }, () => this.cacheTensor(data, batch, slots));
  }

  private cacheFeeds(feeds: Record<string, Tensor>, tensors: Tensor[]): void {
    for (let layer = 0; layer < this.shape.layers; layer++) {
      feeds[`cache.${layer}.key`] = tensors[2 * layer];
      feeds[`cache.${layer}.value`] = tensors[2 * layer + 1];
    }
  }

  async forward(cache: KvCache | null, tokens: readonly (readonly number[])[], reserve = 0): Promise<{ scores: Scores; cache: KvCache }> {
    const batch = tokens.length;
    const seq = tokens[0].length;
    const current: GpuKvCache = cache ?? { tensors: this.zeros(batch, Math.max(1, reserve, seq)), batch, capacity: Math.max(1, reserve, seq), lengths: new Array<number>(batch).fill(0) };
    const needed = Math.max(...current.lengths) + seq;
    // A too-small reserve grows the cache by steps (rarely: the scheduler reserves what turns need).
    const capacity = needed > current.capacity ? Math.ceil(Math.max(needed, 2 * current.capacity) / CAPACITY_STEP) * CAPACITY_STEP : current.capacity;
    const tensors = await this.materialize(current, capacity);
    const { lengths } = current;
    const feeds = slotStepFeeds(tokens, lengths, capacity);
    this.cacheFeeds(feeds, tensors);
    const results = await this.run(feeds);
    for (const name of ['input_ids', 'attention_mask', 'position_ids']) feeds[name]?.dispose();
    const updates = slotCacheDeviceOutputs(this.shape.layers).map((name) => results[name]);
    const written = await this.helpers.write(tensors, updates, lengths);
    return {
      scores: { logits: floatValues(results.logits), logNorms: floatValues(results.log_normalizer) },
      cache: { tensors: written, batch, capacity, lengths: lengths.map((length) => length + seq) },
    };
  }

  async logitsOnly(inputs: PaddedInputs): Promise<Scores> {
    const feeds = slotScoringFeeds(inputs);
    this.cacheFeeds(feeds, this.zeros(inputs.batch, 1));
    const results = await this.run(feeds);
    for (const [name, tensor] of Object.entries(results)) if (name.startsWith('cache_update')) tensor.dispose();
    return { logits: floatValues(results.logits), logNorms: floatValues(results.log_normalizer) };
  }
}
