/** Shared set-up of the engine tests: the real fixture model and a full-recompute reference forward. */
import { fileURLToPath } from 'node:url';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { readModelFolder } from '../../core/engine/model-folder.js';
import { ConcatCacheDecoder, SlotCacheDecoder, type Decoder, type DecoderGraph } from '../../core/engine/decoder.js';
import type { DecodeJob, RawCandidate } from '../../core/engine/decode.js';
import type { KvCache } from '../../core/engine/kv-cache.js';
import { DecodeScheduler } from '../../core/engine/scheduler.js';
import { createInferenceSession } from '../../core/engine/session.js';
import type { DecodeOptions } from '../../core/engine/types.js';

export const FIXTURE = fileURLToPath(new URL('../fixtures/tiny-gpt2', import.meta.url));

export const PLAIN: DecodeOptions = {
  strategy: 'sample',
  numCandidates: 8,
  temperature: 1,
  topK: 0,
  topP: 1,
  repetitionPenalty: 1,
  noRepeatNgramSize: 0,
  minNewTokens: 0,
  maxNewTokens: 12,
  seed: 7,
  beamWidth: 1,
  lengthPenalty: 1,
};

/** Shape of one `session.run` call: its input_ids dims. */
export interface RunCall {
  batch: number;
  seq: number;
}

/** The session, with every `run` call's input shape appended to `calls` (to count forward passes). */
function countingSession(session: InferenceSession, calls: RunCall[]): InferenceSession {
  return new Proxy(session, {
    get(target, property) {
      if (property === 'run') {
        return (feeds: Record<string, Tensor>, ...rest: []) => {
          const [batch, seq] = feeds.input_ids.dims;
          calls.push({ batch, seq });
          return target.run(feeds, ...rest);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * A decoder on the fixture's slot-cache graph (what the engine runs) or its standard graph; with
 * `calls`, every forward pass's shape is recorded there.
 */
export async function openDecoder(calls?: RunCall[], graph: DecoderGraph = 'slot-cache'): Promise<Decoder> {
  const folder = await readModelFolder(FIXTURE);
  const path = graph === 'slot-cache' ? folder.slotCachePath! : folder.onnxPath;
  const { session } = await createInferenceSession(path, { device: 'cpu', fallback: 'fail' });
  const shape = { layers: folder.layers, kvHeads: folder.kvHeads, headDim: folder.headDim, vocabSize: folder.vocabSize, cacheType: 'float32' as const };
  const counted = calls ? countingSession(session, calls) : session;
  return graph === 'slot-cache' ? new SlotCacheDecoder(counted, shape) : new ConcatCacheDecoder(counted, shape);
}

/** Logits of every position of `tokens`, computed from scratch (no cache), batch 1. */
export async function fullLogits(decoder: Decoder, tokens: number[]): Promise<Float32Array[]> {
  const length = tokens.length;
  const { logits } = await decoder.logitsOnly({
    inputIds: BigInt64Array.from(tokens, BigInt),
    batch: 1,
    seq: length,
    attentionMask: new BigInt64Array(length).fill(1n),
    positionIds: BigInt64Array.from({ length }, (_, i) => BigInt(i)),
  });
  const vocab = decoder.shape.vocabSize;
  const data = logits;
  return Array.from({ length }, (_, i) => data.slice(i * vocab, (i + 1) * vocab));
}

/**
 * The prompt run once with batch 1 and room for `room` more tokens: its cache and the logits of its
 * last position.
 */
export async function prefill(decoder: Decoder, prompt: readonly number[], room: number): Promise<{ cache: KvCache; last: Float32Array }> {
  const { scores, cache } = await decoder.forward(null, [prompt], prompt.length + room);
  const vocab = decoder.shape.vocabSize;
  return { cache, last: scores.logits.subarray((prompt.length - 1) * vocab, prompt.length * vocab) };
}

/** One step in which row r feeds `tokens[r]`; CONSUMES `cache`. */
export async function stepBatch(decoder: Decoder, cache: KvCache, tokens: readonly number[]): Promise<{ logits: Float32Array; present: KvCache }> {
  const { scores, cache: present } = await decoder.forward(cache, tokens.map((token) => [token]));
  return { logits: scores.logits, present };
}

/** Runs one decode job alone through a scheduler on `decoder` (e.g. one that counts passes). */
export function decodeAlone(decoder: Decoder, job: DecodeJob, contextWindow: number): Promise<RawCandidate[]> {
  return new DecodeScheduler(decoder, { decoder, contextWindow, bosToken: 0 }).run(job);
}

export function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const value of row) max = Math.max(max, value);
  let sum = 0;
  for (const value of row) sum += Math.exp(value - max);
  const norm = max + Math.log(sum);
  return Float64Array.from(row, (value) => value - norm);
}

export function rankOf(row: ArrayLike<number>, token: number): number {
  let rank = 0;
  for (let i = 0; i < row.length; i++) if (row[i] > row[token]) rank++;
  return rank;
}
