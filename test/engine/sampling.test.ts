import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type DialogueEngine } from '../../core/engine/index.js';
import { mulberry32, SamplerScratch, sampleToken, topKIndices } from '../../core/engine/sampling.js';
import type { Decoder } from '../../core/engine/decoder.js';
import { FIXTURE, fullLogits, logSoftmax, openDecoder, PLAIN, rankOf } from './helpers.js';

function randomRow(length: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => (random() - 0.5) * 12);
}

describe('topKIndices', () => {
  it('returns the k largest values in descending order, skipping banned ones', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const row = randomRow(500, seed);
      row[3] = -Infinity;
      const out = new Int32Array(500);
      const count = topKIndices(row, 17, out);
      const expected = Array.from(row.keys()).filter((i) => i !== 3).sort((a, b) => row[b] - row[a]).slice(0, 17);
      expect(count).toBe(17);
      expect(Array.from(out.subarray(0, count))).toEqual(expected);
    }
  });
});

describe('sampleToken', () => {
  it('never samples outside the top k', () => {
    const row = randomRow(400, 99);
    const allowed = new Set(Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 5));
    const seen = new Set<number>();
    for (let seed = 0; seed < 500; seed++) {
      const token = sampleToken(Float32Array.from(row), { temperature: 1.5, topK: 5, topP: 1 }, mulberry32(seed), new SamplerScratch(400));
      expect(allowed.has(token)).toBe(true);
      seen.add(token);
    }
    // Sampling, not argmax: several of the five are drawn.
    expect(seen.size).toBeGreaterThan(2);
  });

  it('samples only from the nucleus of mass topP (without top-k)', () => {
    const row = randomRow(1000, 5);
    const logp = logSoftmax(row);
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]);
    const nucleus = new Set<number>();
    let mass = 0;
    for (const token of order) {
      nucleus.add(token);
      mass += Math.exp(logp[token]);
      if (mass >= 0.6) break;
    }
    // Larger than the first candidate-set size, so the growing selection is exercised.
    expect(nucleus.size).toBeGreaterThan(64);
    for (let seed = 0; seed < 300; seed++) {
      const token = sampleToken(Float32Array.from(row), { temperature: 1, topK: 0, topP: 0.6 }, mulberry32(seed), new SamplerScratch(1000));
      expect(nucleus.has(token)).toBe(true);
    }
  });

  it('renormalises top-p over the top-k survivors', () => {
    // Two tokens hold almost all the mass: with topK 2, topP 0.5 keeps only the best one.
    const row = new Float32Array(50).fill(-5);
    row[10] = 4;
    row[20] = 3.5;
    for (let seed = 0; seed < 100; seed++) {
      expect(sampleToken(Float32Array.from(row), { temperature: 1, topK: 2, topP: 0.5 }, mulberry32(seed), new SamplerScratch(50))).toBe(10);
    }
  });
});

describe('generate() sampling on the fixture', () => {
  let engine: DialogueEngine;
  let decoder: Decoder;
  let prompt: number[];
  beforeAll(async () => {
    engine = await loadEngine(FIXTURE, { device: 'cpu', fallback: 'fail' });
    decoder = await openDecoder();
    prompt = engine.encodeDialogue({ persona: [], knowledge: [], history: [{ role: 'user', text: 'Can you recommend a song?', at: 0 }] }, 16).tokens;
  });
  afterAll(async () => {
    await engine.dispose();
    await decoder.release();
  });

  async function chosenTokenRows(candidate: { tokens: number[]; finished: boolean }) {
    const endToken = engine.tokenizer.tokenId(engine.format!.end)!;
    const chosen = candidate.finished ? [...candidate.tokens, endToken] : candidate.tokens;
    const reference = await fullLogits(decoder, [...prompt, ...chosen]);
    return chosen.map((token, i) => ({ token, row: reference[prompt.length - 1 + i] }));
  }

  it('keeps every token within the top k of the model, over many seeds', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const candidates = await engine.generate(prompt, { ...PLAIN, topK: 3, seed, numCandidates: 6 });
      expect(candidates).toHaveLength(6);
      for (const candidate of candidates) {
        for (const { token, row } of await chosenTokenRows(candidate)) expect(rankOf(row, token)).toBeLessThan(3);
      }
    }
  });

  it('keeps every token within the top-p nucleus', async () => {
    const candidates = await engine.generate(prompt, { ...PLAIN, topP: 0.7, numCandidates: 16, seed: 3 });
    for (const candidate of candidates) {
      for (const { token, row } of await chosenTokenRows(candidate)) {
        const logp = logSoftmax(row);
        let before = 0;
        for (let t = 0; t < row.length; t++) if (row[t] > row[token]) before += Math.exp(logp[t]);
        expect(before).toBeLessThan(0.7);
      }
    }
  });

  it('reports the untempered log-probability of the chosen tokens', async () => {
    const [candidate] = await engine.generate(prompt, { ...PLAIN, temperature: 0.5, topK: 10, numCandidates: 1, seed: 11 });
    let expected = 0;
    for (const { token, row } of await chosenTokenRows(candidate)) expected += logSoftmax(row)[token];
    expect(candidate.logprob).toBeCloseTo(expected, 3);
  });

  it('gives the same candidates for the same seed and different ones for another seed', async () => {
    const options = { ...PLAIN, numCandidates: 6, maxNewTokens: 16 };
    const a = await engine.generate(prompt, { ...options, seed: 42 });
    const b = await engine.generate(prompt, { ...options, seed: 42 });
    const c = await engine.generate(prompt, { ...options, seed: 43 });
    expect(b.map((x) => x.tokens)).toEqual(a.map((x) => x.tokens));
    expect(c.map((x) => x.tokens)).not.toEqual(a.map((x) => x.tokens));
    // Candidates within one batch differ from each other too.
    expect(new Set(a.map((x) => x.tokens.join(','))).size).toBeGreaterThan(1);
  });
});
