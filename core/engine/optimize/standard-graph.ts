/**
 * Runs a standard "decoder with past" graph (optimum's names: past_key_values.{i}.key|value in,
 * present.{i}.key|value out, or a merged decoder with use_cache_branch) on plain arrays: the
 * reference the slot-cache graph is checked against.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { halfToFloat } from '../dtype.js';

export type CacheType = 'float32' | 'float16';

export interface StandardGraphShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  cacheType: CacheType;
}

/** The cache layout a standard graph declares on its past_key_values inputs. */
export function standardGraphShape(session: InferenceSession): StandardGraphShape {
  const past = session.inputMetadata.filter((input) => /^past_key_values\.\d+\.key$/.test(input.name));
  const first = past.find((input) => input.name === 'past_key_values.0.key');
  if (!first || !first.isTensor) throw new Error('the graph has no past_key_values.0.key input: not a decoder with past');
  const [, kvHeads, , headDim] = first.shape;
  if (typeof kvHeads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`past_key_values.0.key has no fixed key/value heads and head size (shape ${JSON.stringify(first.shape)})`);
  }
  if (first.type !== 'float32' && first.type !== 'float16') throw new Error(`unsupported cache type ${first.type}`);
  return { layers: past.length, kvHeads, headDim, cacheType: first.type };
}

export interface Step {
  /** Rows of new token ids (equal lengths). */
  ids: number[][];
  /** Rows of [past + new] mask values (0 on padding). */
  mask: number[][];
  positions: number[][];
  /** The previous step's present tensors (2 per layer), or null for none. */
  past: Tensor[] | null;
}

export interface StepResult {
  /** [batch, seq, vocab] as float32. */
  logits: Float32Array;
  vocab: number;
  present: Tensor[];
}

const int64 = (rows: number[][]) =>
  new Tensor('int64', BigInt64Array.from(rows.flat(), (value) => BigInt(value)), [rows.length, rows[0].length]);

export function toFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === 'float16') return halfToFloat(tensor.data as Uint16Array);
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  throw new Error(`expected a float tensor, got ${tensor.type}`);
}

export async function runStandardStep(session: InferenceSession, shape: StandardGraphShape, step: Step): Promise<StepResult> {
  const batch = step.ids.length;
  const feeds: Record<string, Tensor> = {
    input_ids: int64(step.ids),
    attention_mask: int64(step.mask),
  };
  if (session.inputNames.includes('position_ids')) feeds.position_ids = int64(step.positions);
  if (session.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [step.past !== null], [1]);
  // Newer exports can skip the logits of all but the last positions; 0 keeps them all.
  if (session.inputNames.includes('num_logits_to_keep')) feeds.num_logits_to_keep = new Tensor('int64', new BigInt64Array([0n]), []);
  const empty = () =>
    new Tensor(shape.cacheType, shape.cacheType === 'float16' ? new Uint16Array(0) : new Float32Array(0), [batch, shape.kvHeads, 0, shape.headDim]);
  for (let layer = 0; layer < shape.layers; layer++) {
    feeds[`past_key_values.${layer}.key`] = step.past?.[2 * layer] ?? empty();
    feeds[`past_key_values.${layer}.value`] = step.past?.[2 * layer + 1] ?? empty();
  }
  const results = await session.run(feeds);
  const present: Tensor[] = [];
  for (let layer = 0; layer < shape.layers; layer++) present.push(results[`present.${layer}.key`], results[`present.${layer}.value`]);
  return { logits: toFloat32(results.logits), vocab: results.logits.dims[2], present };
}
