/**
 * Checks a slot-cache graph against the standard graph it was built from, on random tokens: a
 * left-padded batch's prefill, then single-token steps with the cache (the slot side keeps a free
 * slot that stays masked). Logits are compared at every real (non-pad) position; the slot graph's
 * log_normalizer against the log-sum-exp of the standard logits.
 */
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { logSumExp, mulberry32 } from '../sampling.js';
import { runStandardStep, standardGraphShape, toFloat32, type StandardGraphShape } from './standard-graph.js';

export interface GraphComparison {
  maxLogitDiff: number;
  maxLogNormDiff: number;
  /** Largest |logit| seen: the scale the differences are measured against. */
  maxLogit: number;
  positions: number;
}

const int64 = (rows: number[][]) =>
  new Tensor('int64', BigInt64Array.from(rows.flat(), (value) => BigInt(value)), [rows.length, rows[0].length]);

/** The engine's slot cache reduced to what a check needs: fixed capacity, updates written in place. */
export class SlotCache {
  private readonly buffers: (Float32Array | Uint16Array)[];
  length = 0;

  constructor(
    private readonly session: InferenceSession,
    private readonly shape: StandardGraphShape,
    private readonly batch: number,
    private readonly capacity: number,
  ) {
    const size = batch * shape.kvHeads * capacity * shape.headDim;
    this.buffers = Array.from({ length: 2 * shape.layers }, () => (shape.cacheType === 'float16' ? new Uint16Array(size) : new Float32Array(size)));
  }

  /** `mask`: [past + new] per row, as the standard graph takes it. */
  async step(ids: number[][], mask: number[][], positions: number[][]) {
    const { layers, kvHeads, headDim, cacheType } = this.shape;
    const seq = ids[0].length;
    const width = this.capacity + seq;
    const slotMask = mask.map((row) => {
      const out = new Array<number>(width).fill(0);
      row.slice(0, this.length).forEach((m, j) => (out[j] = m));
      row.slice(this.length).forEach((m, j) => (out[this.capacity + j] = m));
      return out;
    });
    const feeds: Record<string, Tensor> = { input_ids: int64(ids), attention_mask: int64(slotMask), position_ids: int64(positions) };
    const dims = [this.batch, kvHeads, this.capacity, headDim];
    for (let layer = 0; layer < layers; layer++) {
      feeds[`cache.${layer}.key`] = new Tensor(cacheType, this.buffers[2 * layer], dims);
      feeds[`cache.${layer}.value`] = new Tensor(cacheType, this.buffers[2 * layer + 1], dims);
    }
    const results = await this.session.run(feeds);
    const run = seq * headDim;
    for (let layer = 0; layer < layers; layer++) {
      for (const [offset, kind] of [[0, 'key'], [1, 'value']] as const) {
        const update = results[`cache_update.${layer}.${kind}`].data as Float32Array | Uint16Array;
        const target = this.buffers[2 * layer + offset];
        for (let block = 0; block < this.batch * kvHeads; block++) {
          target.set(update.subarray(block * run, (block + 1) * run), (block * this.capacity + this.length) * headDim);
        }
      }
    }
    this.length += seq;
    return { logits: toFloat32(results.logits), logNorms: results.log_normalizer.data as Float32Array };
  }
}

export async function compareGraphs(
  standard: InferenceSession,
  slot: InferenceSession,
  options: { tokens: number; seed?: number; lengths?: number[]; steps?: number },
): Promise<GraphComparison> {
  const shape = standardGraphShape(standard);
  const next = mulberry32(options.seed ?? 1);
  const lengths = options.lengths ?? [6, 4, 2];
  const steps = options.steps ?? 3;
  const width = Math.max(...lengths);
  const token = () => Math.floor(next() * options.tokens);
  // Left padding: pads (id 0, mask 0) then the row's tokens.
  let ids = lengths.map((n) => Array.from({ length: width }, (_, j) => (j < width - n ? 0 : token())));
  let mask = lengths.map((n) => Array.from({ length: width }, (_, j) => (j < width - n ? 0 : 1)));
  let positions = lengths.map((n) => Array.from({ length: width }, (_, j) => Math.max(0, j - (width - n))));
  const cache = new SlotCache(slot, shape, lengths.length, width + steps + 1);
  const result: GraphComparison = { maxLogitDiff: 0, maxLogNormDiff: 0, maxLogit: 0, positions: 0 };
  let past: Tensor[] | null = null;
  let fullMask = mask;
  for (let step = 0; step <= steps; step++) {
    const theirs = await runStandardStep(standard, shape, { ids, mask: fullMask, positions, past });
    const ours = await cache.step(ids, fullMask, positions);
    const seq = ids[0].length;
    const vocab = theirs.vocab;
    for (let b = 0; b < ids.length; b++) {
      for (let t = 0; t < seq; t++) {
        if (!mask[b][t]) continue;
        const at = (b * seq + t) * vocab;
        const reference = theirs.logits.subarray(at, at + vocab);
        for (let v = 0; v < vocab; v++) {
          result.maxLogitDiff = Math.max(result.maxLogitDiff, Math.abs(ours.logits[at + v] - reference[v]));
          result.maxLogit = Math.max(result.maxLogit, Math.abs(reference[v]));
        }
        result.maxLogNormDiff = Math.max(result.maxLogNormDiff, Math.abs(ours.logNorms[b * seq + t] - logSumExp(reference)));
        result.positions++;
      }
    }
    past = theirs.present;
    ids = ids.map(() => [token()]);
    mask = ids.map(() => [1]);
    fullMask = fullMask.map((row) => [...row, 1]);
    positions = positions.map((row) => [row[row.length - 1] + 1]);
  }
  return result;
}
