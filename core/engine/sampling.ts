/**
 * Logits processing and token choice for one row of logits. Works in place on a caller-owned
 * buffer; never sorts the whole vocabulary (top-k and top-p use a bounded min-heap selection).
 */

/** mulberry32: a small, fast seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Bans every token that would complete an n-gram already present in `tokens`. */
export function banRepeatedNgrams(scores: Float32Array, tokens: readonly number[], size: number): void {
  if (size <= 0 || tokens.length < size) return;
  const prefixStart = tokens.length - (size - 1);
  for (let start = 0; start + size <= tokens.length; start++) {
    let matches = true;
    for (let j = 0; j < size - 1 && matches; j++) matches = tokens[start + j] === tokens[prefixStart + j];
    if (matches) scores[tokens[start + size - 1]] = -Infinity;
  }
}

/**
 * Indices of the `k` largest finite values, written to `out` in descending order of value; returns
 * how many were written. A size-k min-heap keeps this O(V log k).
 */
export function topKIndices(values: Float32Array, k: number, out: Int32Array): number {
  let size = 0;
  const less = (a: number, b: number) => values[a] < values[b] || (values[a] === values[b] && a > b);
  const siftDown = (from: number) => {
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < size && less(out[left], out[smallest])) smallest = left;
      if (right < size && less(out[right], out[smallest])) smallest = right;
      if (smallest === i) return;
      [out[i], out[smallest]] = [out[smallest], out[i]];
      i = smallest;
    }
  };
  for (let index = 0; index < values.length; index++) {
    if (values[index] === -Infinity) continue;
    if (size < k) {
      let i = size++;
      out[i] = index;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!less(out[i], out[parent])) break;
        [out[i], out[parent]] = [out[parent], out[i]];
        i = parent;
      }
    } else if (less(out[0], index)) {
      out[0] = index;
      siftDown(0);
    }
  }
  // Heap-sort in place: repeatedly move the minimum to the end, giving descending order.
  const count = size;
  while (size > 1) {
    [out[0], out[size - 1]] = [out[size - 1], out[0]];
    size--;
    siftDown(0);
  }
  return count;
}

export interface SamplerSettings {
  temperature: number;
  topK: number;
  topP: number;
}

/** First candidate-set size tried for top-p without top-k; doubled until it holds mass `topP`. */
const NUCLEUS_START = 64;

/**
 * Samples a token from processed `scores` (modified in place: divided by the temperature).
 * `indices` must hold at least vocabulary-size entries (a reused buffer).
 */
export function sampleToken(scores: Float32Array, settings: SamplerSettings, random: () => number, indices: Int32Array): number {
  const vocab = scores.length;
  if (settings.temperature !== 1) for (let i = 0; i < vocab; i++) scores[i] /= settings.temperature;
  const useTopK = settings.topK > 0 && settings.topK < vocab;
  const useTopP = settings.topP < 1;
  if (!useTopK && !useTopP) return sampleFromAll(scores, random);

  let count = useTopK ? topKIndices(scores, settings.topK, indices) : 0;
  if (!useTopP) return sampleFromIndices(scores, indices, count, random);

  // Top-p over the sorted top-k survivors, or over a growing top-m set that holds mass topP of the
  // full distribution (exact: mass of the first m sorted tokens only grows with m).
  const totalLogMass = useTopK ? undefined : logSumExp(scores);
  let limit = useTopK ? count : Math.min(NUCLEUS_START, vocab);
  for (;;) {
    if (!useTopK) count = topKIndices(scores, limit, indices);
    const max = scores[indices[0]];
    const normaliser = useTopK ? logSumExpOf(scores, indices, count) - max : totalLogMass! - max;
    const total = Math.exp(normaliser);
    let mass = 0;
    for (let i = 0; i < count; i++) {
      mass += Math.exp(scores[indices[i]] - max) / total;
      if (mass >= settings.topP) return sampleFromIndices(scores, indices, i + 1, random);
    }
    if (useTopK || count < limit || limit >= vocab) return sampleFromIndices(scores, indices, count, random);
    limit = Math.min(limit * 2, vocab);
  }
}

function logSumExpOf(scores: Float32Array, indices: Int32Array, count: number): number {
  const max = scores[indices[0]];
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(scores[indices[i]] - max);
  return max + Math.log(sum);
}

function sampleFromIndices(scores: Float32Array, indices: Int32Array, count: number, random: () => number): number {
  const max = scores[indices[0]];
  let total = 0;
  for (let i = 0; i < count; i++) total += Math.exp(scores[indices[i]] - max);
  let threshold = random() * total;
  for (let i = 0; i < count; i++) {
    threshold -= Math.exp(scores[indices[i]] - max);
    if (threshold < 0) return indices[i];
  }
  return indices[count - 1];
}

function sampleFromAll(scores: Float32Array, random: () => number): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  let total = 0;
  for (let i = 0; i < scores.length; i++) total += Math.exp(scores[i] - max);
  let threshold = random() * total;
  let last = 0;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] === -Infinity) continue;
    last = i;
    threshold -= Math.exp(scores[i] - max);
    if (threshold < 0) return i;
  }
  return last;
}
