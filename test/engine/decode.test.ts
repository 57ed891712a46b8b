import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineInputError, loadEngine, type DialogueEngine, type GeneratedCandidate } from '../../core/engine/index.js';
import type { Decoder } from '../../core/engine/decoder.js';
import { FIXTURE, fullLogits, logSoftmax, openDecoder, PLAIN } from './helpers.js';

let engine: DialogueEngine;
let decoder: Decoder;
let prompt: number[];
let endToken: number;

beforeAll(async () => {
  engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
  decoder = await openDecoder();
  endToken = engine.tokenizer.tokenId(engine.format!.end)!;
  prompt = engine.encodeDialogue(
    { persona: ['I like jazz.'], knowledge: [], history: [{ role: 'user', text: 'What music do you like?', at: 0 }] },
    32,
  ).tokens;
});
afterAll(async () => {
  await engine.dispose();
  await decoder.release();
});

/** Summed log-probability of the candidate's tokens (and end token) by a full recompute. */
async function referenceLogprob(candidate: GeneratedCandidate): Promise<number> {
  const chosen = candidate.finished ? [...candidate.tokens, endToken] : candidate.tokens;
  const rows = await fullLogits(decoder, [...prompt, ...chosen]);
  return chosen.reduce((sum, token, i) => sum + logSoftmax(rows[prompt.length - 1 + i])[token], 0);
}

function repeatedBigrams(tokens: number[]): number {
  const seen = new Set<string>();
  let repeats = 0;
  for (let i = 0; i + 1 < tokens.length; i++) {
    const key = `${tokens[i]},${tokens[i + 1]}`;
    if (seen.has(key)) repeats++;
    seen.add(key);
  }
  return repeats;
}

describe('batched sampling', () => {
  it('drops finished candidates from the batch without disturbing the others', async () => {
    const candidates = await engine.generate(prompt, { ...PLAIN, numCandidates: 16, maxNewTokens: 24, seed: 5 });
    expect(candidates).toHaveLength(16);
    const finished = candidates.filter((c) => c.finished);
    const lengths = new Set(finished.map((c) => c.tokens.length));
    // Candidates ended at different steps while others ran on: rows were dropped mid-way.
    expect(lengths.size).toBeGreaterThan(1);
    expect(candidates.some((c) => !c.finished && c.tokens.length === 24)).toBe(true);
    for (const candidate of candidates) {
      expect(candidate.tokens).not.toContain(endToken);
      expect(candidate.logprob).toBeCloseTo(await referenceLogprob(candidate), 3);
      const length = candidate.tokens.length + (candidate.finished ? 1 : 0);
      expect(candidate.avgLogprob).toBeCloseTo(candidate.logprob / length, 6);
      expect(candidate.text).toBe(engine.tokenizer.decode(candidate.tokens).trim());
    }
  });

  it('with min-new-tokens never ends a candidate early', async () => {
    const options = { ...PLAIN, numCandidates: 16, maxNewTokens: 20, seed: 9 };
    const free = await engine.generate(prompt, options);
    expect(free.some((c) => c.finished && c.tokens.length < 8)).toBe(true);
    const held = await engine.generate(prompt, { ...options, minNewTokens: 8 });
    for (const candidate of held) expect(candidate.tokens.length).toBeGreaterThanOrEqual(8);
  });

  it('with no-repeat-ngram never repeats a bigram within a candidate', async () => {
    const options = { ...PLAIN, numCandidates: 16, maxNewTokens: 24, topK: 4, seed: 2 };
    const free = await engine.generate(prompt, options);
    expect(free.reduce((sum, c) => sum + repeatedBigrams(c.tokens), 0)).toBeGreaterThan(0);
    const banned = await engine.generate(prompt, { ...options, noRepeatNgramSize: 2 });
    for (const candidate of banned) expect(repeatedBigrams(candidate.tokens)).toBe(0);
  });

  it('with a repetition penalty repeats seen tokens less', async () => {
    const seenAgain = (candidates: GeneratedCandidate[]) =>
      candidates.reduce((sum, c) => sum + c.tokens.filter((t, i) => prompt.includes(t) || c.tokens.slice(0, i).includes(t)).length, 0);
    const options = { ...PLAIN, numCandidates: 16, maxNewTokens: 24, minNewTokens: 24, seed: 4 };
    const free = seenAgain(await engine.generate(prompt, options));
    const penalised = seenAgain(await engine.generate(prompt, { ...options, repetitionPenalty: 3 }));
    expect(free).toBeGreaterThan(0);
    expect(penalised).toBeLessThan(free / 2);
  });

  it('rejects a prompt that fills the context window', async () => {
    await expect(engine.generate(new Array(engine.info.contextWindow).fill(5), PLAIN)).rejects.toBeInstanceOf(EngineInputError);
  });
});

describe('beam search', () => {
  it('with width 1 equals greedy decoding', async () => {
    for (const text of ['What music do you like?', 'Tell me about the sea.', 'Hello!']) {
      const input = engine.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text, at: 0 }] }, 32).tokens;
      const [greedy] = await engine.generate(input, { ...PLAIN, strategy: 'greedy', maxNewTokens: 20 });
      const beams = await engine.generate(input, { ...PLAIN, strategy: 'beam', beamWidth: 1, numCandidates: 1, maxNewTokens: 20 });
      expect(beams).toHaveLength(1);
      expect(beams[0].tokens).toEqual(greedy.tokens);
      expect(beams[0].finished).toBe(greedy.finished);
      expect(beams[0].logprob).toBeCloseTo(greedy.logprob, 4);
    }
  });

  it('returns distinct beams ranked by length-normalised score, with their true log-probabilities', async () => {
    const lengthPenalty = 1;
    const beams = await engine.generate(prompt, { ...PLAIN, strategy: 'beam', beamWidth: 4, numCandidates: 3, maxNewTokens: 16, lengthPenalty });
    expect(beams).toHaveLength(3);
    expect(new Set(beams.map((b) => b.tokens.join(','))).size).toBe(3);
    const scores = beams.map((b) => b.logprob / (b.tokens.length + (b.finished ? 1 : 0)) ** lengthPenalty);
    for (let i = 1; i < scores.length; i++) expect(scores[i]).toBeLessThanOrEqual(scores[i - 1] + 1e-9);
    for (const beam of beams) expect(beam.logprob).toBeCloseTo(await referenceLogprob(beam), 3);
  });

  it('finds a sequence at least as likely as greedy when scores are plain sums', async () => {
    const [greedy] = await engine.generate(prompt, { ...PLAIN, strategy: 'greedy', maxNewTokens: 6, minNewTokens: 6 });
    const [best] = await engine.generate(prompt, { ...PLAIN, strategy: 'beam', beamWidth: 8, numCandidates: 1, maxNewTokens: 6, minNewTokens: 6, lengthPenalty: 0 });
    expect(best.tokens).toHaveLength(6);
    expect(best.logprob).toBeGreaterThanOrEqual(greedy.logprob - 1e-6);
  });
});
