/**
 * What the engine reports beside each candidate and scored pair: per-token raw log-probabilities
 * that sum to the totals, the end token a candidate stopped at, and the most likely tokens per
 * position when asked — all checked against a full recompute of the fixture model's logits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { FIXTURE, fullLogits, logSoftmax, openDecoder, PLAIN } from './helpers.js';
import type { Decoder } from '../../core/engine/decoder.js';

let engine: LoadedDialogueEngine;
let reference: Decoder;

beforeAll(async () => {
  engine = await loadEngine(FIXTURE, { device: 'cpu' });
  reference = await openDecoder(undefined, 'standard');
});

afterAll(async () => {
  await engine.dispose();
  await reference.release();
});

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-4);

describe('per-token log-probabilities', () => {
  it.each(['sample', 'beam'] as const)('of %s candidates sum to their logprob and match a full recompute, end token included', async (strategy) => {
    const prompt = engine.encodeTurns([{ role: 'user', text: 'hello there, how are you' }]);
    const candidates = await engine.generate(prompt, { ...PLAIN, strategy, numCandidates: 4, beamWidth: 4, maxNewTokens: 10, topLogprobs: 3 });
    for (const candidate of candidates) {
      expect(candidate.tokenLogprobs).toHaveLength(candidate.tokens.length + (candidate.finished ? 1 : 0));
      expect(candidate.tokenLogprobs.reduce((sum, value) => sum + value, 0)).toBe(candidate.logprob);
      expect(candidate.finished).toBe(candidate.endToken !== undefined);
      if (candidate.endToken !== undefined) expect(engine.info.endTokens).toContain(candidate.endToken);
      const chosen = [...candidate.tokens, ...(candidate.endToken === undefined ? [] : [candidate.endToken])];
      const rows = await fullLogits(reference, [...prompt, ...chosen]);
      chosen.forEach((token, i) => {
        const logprobs = logSoftmax(rows[prompt.length - 1 + i]);
        close(candidate.tokenLogprobs[i], logprobs[token]);
        const top = candidate.topLogprobs![i];
        expect(top).toHaveLength(3);
        const best = [...logprobs.keys()].sort((a, b) => logprobs[b] - logprobs[a]).slice(0, 3);
        expect(top.map(([id]) => id)).toEqual(best);
        top.forEach(([id, value]) => close(value, logprobs[id]));
      });
    }
  });

  it('without topLogprobs, candidates carry none', async () => {
    const [candidate] = await engine.generate([1, 2, 3], { ...PLAIN, numCandidates: 1, maxNewTokens: 4 });
    expect(candidate.topLogprobs).toBeUndefined();
  });

  it('of scored pairs sum to score() exactly, with the most likely tokens when asked', async () => {
    const context = engine.encodeTurns([{ role: 'user', text: 'what is up' }]);
    const pairs = [
      { context, continuation: engine.tokenizer.encode(' not much') },
      { context: [], continuation: engine.tokenizer.encode('hi') },
    ];
    const [scores, tokens] = [await engine.score(pairs), await engine.scoreTokens(pairs, 2)];
    tokens.forEach((pair, i) => {
      expect(pair.logprobs).toHaveLength(pairs[i].continuation.length);
      expect(pair.logprobs.reduce((sum, value) => sum + value, 0)).toBe(scores[i]);
      expect(pair.top!.every((alternatives) => alternatives.length === 2 && alternatives[0][1] >= alternatives[1][1])).toBe(true);
    });
    const rows = await fullLogits(reference, [...context, ...pairs[0].continuation]);
    pairs[0].continuation.forEach((token, i) => close(tokens[0].logprobs[i], logSoftmax(rows[context.length - 1 + i])[token]));
  });
});
