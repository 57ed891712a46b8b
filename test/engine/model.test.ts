import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../core/engine/index.js';
import type { DialogueEngine } from '../../core/engine/index.js';
import type { Decoder, DecoderGraph } from '../../core/engine/decoder.js';
import { FIXTURE, fullLogits, logSoftmax, openDecoder, PLAIN, prefill, stepBatch } from './helpers.js';

let engine: DialogueEngine;
/** The standard graph, recomputing from scratch: the reference for both graphs' cached steps. */
let decoder: Decoder;

beforeAll(async () => {
  engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
  decoder = await openDecoder(undefined, 'standard');
});
afterAll(async () => {
  await engine.dispose();
  await decoder.release();
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe.each<DecoderGraph>(['slot-cache', 'standard'])('the %s decoder with a key/value cache', (graph) => {
  let cached: Decoder;
  beforeAll(async () => {
    cached = await openDecoder(undefined, graph);
  });
  afterAll(() => cached.release());

  // room: what the prefill reserves for the tokens to come; fewer than the continuation makes the
  // slot cache grow mid-way.
  it.each([4, 1])('gives the logits of a full recompute, step by step and across an expanded batch (room for %i)', async (room) => {
    const prompt = engine.encodeTurns([{ role: 'user', text: 'Hello, what is the highest mountain?' }]);
    const continuation = [5, 77, 300, 12];
    const reference = await fullLogits(decoder, [...prompt, ...continuation]);

    const first = await prefill(cached, prompt, room);
    expect(maxAbsDiff(first.last, reference[prompt.length - 1])).toBeLessThan(1e-4);
    // Three rows sharing the prompt's cache, as generate() does for candidates.
    let cache = cached.selectRows(first.cache, [0, 0, 0]);
    const vocab = cached.shape.vocabSize;
    for (const [step, token] of continuation.entries()) {
      const { logits, present } = await stepBatch(cached, cache, [token, token, token]);
      cache = present;
      const data = logits;
      for (let row = 0; row < 3; row++) {
        const got = data.subarray(row * vocab, (row + 1) * vocab);
        expect(maxAbsDiff(got, reference[prompt.length + step])).toBeLessThan(1e-4);
      }
    }
    expect(cache.lengths).toEqual([0, 1, 2].map(() => prompt.length + continuation.length));
    expect(cache.capacity).toBeGreaterThanOrEqual(prompt.length + continuation.length);
    cached.dispose(cache);
  });

  it('keeps rows apart: each row of a batch continues its own sequence after rows are dropped', async () => {
    const prompt = engine.encodeTurns([{ role: 'user', text: 'Tell me a story.' }]);
    const rows = [
      [9, 40, 7],
      [120, 3, 66],
    ];
    const first = await prefill(cached, prompt, 3);
    let cache = cached.selectRows(first.cache, [0, 0, 0]);
    // Three rows step twice with different tokens; then row 1 leaves and the others step once more.
    const third = [50, 51, 52];
    for (let step = 0; step < 2; step++) {
      cache = (await stepBatch(cached, cache, [rows[0][step], third[step], rows[1][step]])).present;
    }
    cache = cached.selectRows(cache, [0, 2]);
    const { logits, present } = await stepBatch(cached, cache, [rows[0][2], rows[1][2]]);
    const vocab = cached.shape.vocabSize;
    for (const [row, tokens] of rows.entries()) {
      const reference = await fullLogits(decoder, [...prompt, ...tokens]);
      const got = logits.subarray(row * vocab, (row + 1) * vocab);
      expect(maxAbsDiff(got, reference.at(-1)!)).toBeLessThan(1e-4);
    }
    cached.dispose(present);
  });

  it('decodes rows of different lengths together: a joined turn continues exactly as alone', async () => {
    const short = engine.encodeTurns([{ role: 'user', text: 'Hi.' }]);
    const long = engine.encodeTurns([{ role: 'user', text: 'Tell me everything about the highest mountain on earth, please.' }]);
    const a = await prefill(cached, short, 6);
    const b = await prefill(cached, long, 6);
    // Two rows of the short prompt, then one of the long prompt, in one batch.
    let cache = cached.append(cached.selectRows(a.cache, [0, 0]), b.cache);
    expect(cache.lengths).toEqual([short.length, short.length, long.length]);
    const fed = [[7, 8, 9], [70, 80, 90], [17, 18, 19]];
    let logits: Float32Array = new Float32Array(0);
    for (let step = 0; step < 3; step++) {
      const out = await stepBatch(cached, cache, fed.map((tokens) => tokens[step]));
      cache = out.present;
      logits = out.logits;
    }
    const vocab = cached.shape.vocabSize;
    for (const [row, prompt] of [short, short, long].entries()) {
      const reference = await fullLogits(decoder, [...prompt, ...fed[row]]);
      expect(maxAbsDiff(logits.subarray(row * vocab, (row + 1) * vocab), reference.at(-1)!)).toBeLessThan(1e-4);
    }
    cached.dispose(cache);
  });
});

describe('greedy decoding', () => {
  it('picks the argmax of full-recompute logits at every step', async () => {
    const prompt = engine.encodeDialogue({ persona: ['I am a mountain.'], knowledge: [], history: [{ role: 'user', text: 'Hi!', at: 0 }] }, 16).tokens;
    const [candidate] = await engine.generate(prompt, { ...PLAIN, strategy: 'greedy', maxNewTokens: 16 });
    const endToken = engine.tokenizer.tokenId(engine.format!.end)!;
    const chosen = candidate.finished ? [...candidate.tokens, endToken] : candidate.tokens;
    expect(chosen.length).toBeGreaterThan(3);
    const sequence = [...prompt, ...chosen];
    const reference = await fullLogits(decoder, sequence);
    let logprob = 0;
    for (let i = 0; i < chosen.length; i++) {
      const row = reference[prompt.length - 1 + i];
      let best = 0;
      for (let t = 1; t < row.length; t++) if (row[t] > row[best]) best = t;
      expect(chosen[i]).toBe(best);
      logprob += logSoftmax(row)[chosen[i]];
    }
    expect(candidate.logprob).toBeCloseTo(logprob, 3);
    expect(candidate.avgLogprob).toBeCloseTo(logprob / chosen.length, 3);
  });
});

describe('score()', () => {
  const pairs = [
    { context: [10, 20, 30, 40, 50], continuation: [60, 70] },
    { context: [100], continuation: [200, 300, 400, 500] },
    { context: [7, 8, 9], continuation: [1] },
    { context: [400, 401, 402, 403, 404, 405, 406, 407], continuation: [12, 13, 14] },
  ];

  it('equals the sum of per-token log-probabilities of a full forward', async () => {
    const scores = await engine.score(pairs);
    for (const [i, { context, continuation }] of pairs.entries()) {
      const reference = await fullLogits(decoder, [...context, ...continuation]);
      let expected = 0;
      continuation.forEach((token, j) => (expected += logSoftmax(reference[context.length - 1 + j])[token]));
      expect(scores[i]).toBeCloseTo(expected, 3);
    }
  });

  it('gives the same scores batched as one pair at a time', async () => {
    const batched = await engine.score(pairs);
    for (const [i, pair] of pairs.entries()) {
      const [alone] = await engine.score([pair]);
      expect(batched[i]).toBeCloseTo(alone, 3);
    }
  });

  it('scores an empty continuation as 0 and an empty context after the end-of-text token', async () => {
    const eos = engine.tokenizer.tokenId('<|endoftext|>')!;
    const [empty, noContext, withEos] = await engine.score([
      { context: [1, 2], continuation: [] },
      { context: [], continuation: [42, 43] },
      { context: [eos], continuation: [42, 43] },
    ]);
    expect(empty).toBe(0);
    expect(noContext).toBeCloseTo(withEos, 4);
    expect(noContext).toBeLessThan(0);
  });
});
