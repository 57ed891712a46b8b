/**
 * A fixed workout for any decoder, whose every pass's logits can be compared across decoders and
 * devices: two prefills (no cached positions), their rows expanded and joined into one batch of
 * rows of different lengths, steps with rows reordered, repeated and dropped, and a scoring pass.
 */
import { expect } from 'vitest';
import { ConcatCacheDecoder, SlotCacheDecoder, type Decoder, type DecoderShape } from '../../core/engine/decoder.js';
import { GpuCacheDecoder } from '../../core/engine/gpu-decoder.js';
import { GpuSlotCacheDecoder, slotCacheDeviceOutputs } from '../../core/engine/gpu-slot-decoder.js';
import type { KvCache } from '../../core/engine/kv-cache.js';
import { readModelFolder } from '../../core/engine/model-folder.js';
import { createInferenceSession } from '../../core/engine/session.js';

/** Which decoder: the CPU's two (host memory) or the GPU's two (device memory on WebGPU). */
export type DecoderKind = 'standard' | 'slot-cache' | 'gpu-standard' | 'gpu-slot-cache';

/** A decoder of `kind` on `dir`'s graph, running on `device`. */
export async function openDecoder(dir: string, kind: DecoderKind, device: 'cpu' | 'webgpu'): Promise<Decoder> {
  const folder = await readModelFolder(dir);
  const slot = kind.endsWith('slot-cache');
  const gpu = kind.startsWith('gpu');
  const deviceOutputs = gpu && (slot ? slotCacheDeviceOutputs(folder.layers) : true);
  const { session } = await createInferenceSession(slot ? folder.slotCachePath! : folder.onnxPath, { device, fallback: 'fail' }, { deviceOutputs });
  const shape: DecoderShape = { layers: folder.layers, kvHeads: folder.kvHeads, headDim: folder.headDim, vocabSize: folder.vocabSize, cacheType: 'float32' };
  if (gpu) return slot ? new GpuSlotCacheDecoder(session, shape, device) : new GpuCacheDecoder(session, shape, device);
  return slot ? new SlotCacheDecoder(session, shape) : new ConcatCacheDecoder(session, shape);
}

export function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) most = Math.max(most, Math.abs(a[i] - b[i]));
  return most;
}

/**
 * Prefill (no cached positions), two prompts of different lengths joined into one batch, steps with
 * rows expanded, reordered and dropped, and a scoring pass: the logits of every pass.
 */
export async function exercise(decoder: Decoder, onEachCache?: (cache: KvCache) => void): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const vocab = decoder.shape.vocabSize;
  const long = [5, 9, 14, 2, 7, 33, 21, 8];
  const short = [40, 3, 17];
  const first = await decoder.forward(null, [long], long.length + 8);
  const second = await decoder.forward(null, [short], short.length + 8);
  out.push(first.scores.logits, second.scores.logits);
  let cache = decoder.append(decoder.selectRows(first.cache, [0, 0, 0]), decoder.selectRows(second.cache, [0, 0]));
  for (const [step, rows] of [[0, 1, 2, 3, 4], [4, 0, 0, 2], [3, 1], [1, 1, 0]].entries()) {
    const next = await decoder.forward(cache, cache.lengths.map((_, r) => [(step * 7 + r * 3) % vocab]));
    onEachCache?.(next.cache);
    out.push(next.scores.logits);
    cache = decoder.selectRows(next.cache, rows);
  }
  const last = await decoder.forward(cache, cache.lengths.map(() => [11]));
  out.push(last.scores.logits);
  decoder.dispose(last.cache);
  const tokens = [...short, ...long];
  const scored = await decoder.logitsOnly({
    inputIds: BigInt64Array.from(tokens, BigInt),
    batch: 1,
    seq: tokens.length,
    attentionMask: new BigInt64Array(tokens.length).fill(1n),
    positionIds: BigInt64Array.from(tokens.keys(), BigInt),
  });
  out.push(scored.logits);
  return out;
}

