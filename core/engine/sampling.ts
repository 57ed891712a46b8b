/**
 * Token choice and normalisation for one row of logits, in reused buffers: never sorts the whole
 * vocabulary (top-k and top-p use a bounded min-heap selection) and never allocates per row.
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

/** 2 ** -k for the exponent reduction in `sumExpBelow`. */
const POW2_NEGATIVE = Float64Array.from({ length: 64 }, (_, k) => 2 ** -k);
/** Terms below 2 ** -43 of the maximum are skipped: even 50k of them move the sum by < 1e-8 (relative). */
const SKIP_LOG2 = -43;

/**
 * Sum of exp(values[i] - max), where `max` is the row's maximum. Math.exp dominates a naive loop over
 * a 50k vocabulary, so exp is computed as 2 ** -k * e ** y with |y| <= ln2 / 2 and a degree-7 Taylor
 * polynomial (relative error < 3e-9 per term).
 */
export function sumExpBelow(values: ArrayLike<number>, max: number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const t = (values[i] - max) * Math.LOG2E;
    if (!(t >= SKIP_LOG2)) continue;
    const k = (0.5 - t) | 0;
    const y = (t + k) * Math.LN2;
    const power = 1 + y * (1 + y * (0.5 + y * (1 / 6 + y * (1 / 24 + y * (1 / 120 + y * (1 / 720 + y * (1 / 5040)))))));
    sum += power * POW2_NEGATIVE[k];
  }
  return sum;
}

export function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value > max) max = value;
  }
  return max;
}

/** log sum exp(values); pass `max` when the caller already knows the row's maximum. */
export function logSumExp(values: ArrayLike<number>, max = maxOf(values)): number {
  if (max === -Infinity) return -Infinity;
  return max + Math.log(sumExpBelow(values, max));
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Calls `ban` with every token that would complete an n-gram already present in `tokens`. */
export function forEachRepeatedNgramEnd(tokens: readonly number[], size: number, ban: (token: number) => void): void {
  if (size <= 0 || tokens.length < size) return;
  const prefixStart = tokens.length - (size - 1);
  for (let start = 0; start + size <= tokens.length; start++) {
    let matches = true;
    for (let j = 0; j < size - 1 && matches; j++) matches = tokens[start + j] === tokens[prefixStart + j];
    if (matches) ban(tokens[start + size - 1]);
  }
}

/** (va, ia) ranks below (vb, ib): smaller value, or equal value and larger index. */
function ranksBelow(va: number, ia: number, vb: number, ib: number): boolean {
  return va < vb || (va === vb && ia > ib);
}

/** Puts (value, index) at the root of the min-heap (`heapValues`, `heap`) of `size` and sifts it down. */
function replaceRoot(heapValues: Float64Array, heap: Int32Array, size: number, value: number, index: number): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && ranksBelow(heapValues[right], heap[right], heapValues[left], heap[left]) ? right : left;
    if (!ranksBelow(heapValues[child], heap[child], value, index)) break;
    heapValues[i] = heapValues[child];
    heap[i] = heap[child];
    i = child;
  }
  heapValues[i] = value;
  heap[i] = index;
}

/** The heap's values, beside its indices in `out`: comparisons then read neither `values` nor `out` indirectly. */
let heapValues = new Float64Array(64);

/**
 * Indices of the `k` largest finite values, written to `out` in descending order of value (ties: the
 * smaller index first); returns how many were written. A size-k min-heap keeps this O(V log k), and
 * once it is full most values cost one comparison with its minimum.
 */
export function topKIndices(values: ArrayLike<number>, k: number, out: Int32Array): number {
  if (heapValues.length < k) heapValues = new Float64Array(k);
  const heap = heapValues;
  let size = 0;
  let index = 0;
  for (; index < values.length && size < k; index++) {
    const value = values[index];
    if (value === -Infinity) continue;
    // Sift up: the newcomer has the largest index so far, so it ranks below any parent it equals.
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (value > heap[parent]) break;
      heap[i] = heap[parent];
      out[i] = out[parent];
      i = parent;
    }
    heap[i] = value;
    out[i] = index;
  }
  if (size > 0) {
    // Later indices never win a tie, so only strictly greater values enter the full heap.
    let threshold = heap[0];
    for (; index < values.length; index++) {
      const value = values[index];
      if (value > threshold) {
        replaceRoot(heap, out, size, value, index);
        threshold = heap[0];
      }
    }
  }
  // Heap-sort in place: repeatedly move the minimum to the end, giving descending order.
  const count = size;
  while (size > 1) {
    const lastValue = heap[size - 1];
    const lastIndex = out[size - 1];
    out[size - 1] = out[0];
    size--;
    replaceRoot(heap, out, size, lastValue, lastIndex);
  }
  return count;
}

/** The `k` most likely tokens of a raw row of logits and their log-probabilities (`logNorm`: the row's log-normaliser). */
export function mostLikely(row: Float32Array, logNorm: number, k: number, scratch: Int32Array): [number, number][] {
  const count = topKIndices(row, Math.min(k, row.length), scratch);
  return Array.from({ length: count }, (_, i) => [scratch[i], row[scratch[i]] - logNorm] as [number, number]);
}

export interface SamplerSettings {
  temperature: number;
  topK: number;
  topP: number;
}

/** A sampler's reused buffers, each a vocabulary long: no per-step allocation. */
export class SamplerScratch {
  readonly indices: Int32Array;
  /** Tempered scores: of the whole row, or of the top-k survivors only. */
  readonly tempered: Float32Array;
  /** Tempered scores of the selected tokens, in descending order. */
  readonly sorted: Float32Array;

  constructor(vocabSize: number) {
    this.indices = new Int32Array(vocabSize);
    this.tempered = new Float32Array(vocabSize);
    this.sorted = new Float32Array(vocabSize);
  }
}

/** First candidate-set size tried for top-p without top-k; doubled until it holds mass `topP`. */
const NUCLEUS_START = 64;

/**
 * Samples a token from `scores` (left unchanged). Temperature is monotonic, so with top-k the
 * survivors are chosen on the untempered scores and only they are divided by the temperature, into
 * float32 exactly as a tempered copy of the whole row would hold them.
 */
export function sampleToken(scores: Float32Array, settings: SamplerSettings, random: () => number, scratch: SamplerScratch): number {
  const vocab = scores.length;
  const { indices, tempered, sorted } = scratch;
  const useTopK = settings.topK > 0 && settings.topK < vocab;
  const useTopP = settings.topP < 1;
  if (useTopK) {
    const count = topKIndices(scores, settings.topK, indices);
    for (let i = 0; i < count; i++) sorted[i] = scores[indices[i]] / settings.temperature;
    const kept = useTopP ? nucleusSize(sorted, count, logSumExpOfSorted(sorted, count), settings.topP) : count;
    return indices[sampleFromSorted(sorted, kept, random)];
  }
  // Without top-k every token stays a candidate: temper the whole row.
  const row = tempered.subarray(0, vocab);
  for (let i = 0; i < vocab; i++) row[i] = scores[i] / settings.temperature;
  if (!useTopP) return sampleFromAll(row, random);

  // Top-p over a growing top-m set that holds mass topP of the full distribution (exact: the mass of
  // the first m sorted tokens only grows with m).
  const totalLogMass = logSumExp(row);
  for (let limit = Math.min(NUCLEUS_START, vocab); ; limit = Math.min(limit * 2, vocab)) {
    const count = topKIndices(row, limit, indices);
    for (let i = 0; i < count; i++) sorted[i] = row[indices[i]];
    const kept = nucleusSize(sorted, count, totalLogMass, settings.topP);
    if (kept < count || count < limit || limit >= vocab) return indices[sampleFromSorted(sorted, kept, random)];
  }
}

/** How many of the `count` sorted scores make up mass `topP` of a distribution of log-mass `logTotal`. */
function nucleusSize(sorted: Float32Array, count: number, logTotal: number, topP: number): number {
  const max = sorted[0];
  const total = Math.exp(logTotal - max);
  let mass = 0;
  for (let i = 0; i < count; i++) {
    mass += Math.exp(sorted[i] - max) / total;
    if (mass >= topP) return i + 1;
  }
  return count;
}

function logSumExpOfSorted(sorted: Float32Array, count: number): number {
  const max = sorted[0];
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(sorted[i] - max);
  return max + Math.log(sum);
}

/** Position drawn from the first `count` sorted scores, proportionally to exp(score). */
function sampleFromSorted(sorted: Float32Array, count: number, random: () => number): number {
  const max = sorted[0];
  let total = 0;
  for (let i = 0; i < count; i++) total += Math.exp(sorted[i] - max);
  let threshold = random() * total;
  for (let i = 0; i < count; i++) {
    threshold -= Math.exp(sorted[i] - max);
    if (threshold < 0) return i;
  }
  return count - 1;
}

function sampleFromAll(scores: Float32Array, random: () => number): number {
  const max = maxOf(scores);
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
