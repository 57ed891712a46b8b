import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import type { DialogueEngine, ScorePair } from '../../core/engine/types.js';
import { selectCandidate, weightedTotal } from '../../core/selection.js';
import type { Candidate, Turn } from '../../core/types.js';
import { createBackwardView, DIALOGPT_BACKWARD_FORMAT } from '../../plugins/mmi/backward-view.js';
import { backwardPair, MmiFormatError } from '../../plugins/mmi/index.js';
import { FIXTURE_MODEL, makeTestBot, PLAIN_PRESETS } from '../helpers/bot.js';

let temp: string;
let backwardDir: string;
let dialoGptDir: string;

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'banter-mmi-'));
  backwardDir = await createBackwardView(FIXTURE_MODEL, join(temp, 'backward'));
  dialoGptDir = await createBackwardView(FIXTURE_MODEL, join(temp, 'dialogpt-reverse'), DIALOGPT_BACKWARD_FORMAT);
});

afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

/** A bot with the mmi plugin on the fixture's backward view; records each turn after filtering. */
async function mmiBot(weights: Record<string, number>, mmi: Record<string, unknown> = {}, seed = 7) {
  const bot = await makeTestBot({
    plugins: { mmi: { model: backwardDir, ...mmi } },
    selection: { weights, fallback: 'fallback' },
    decoding: { numCandidates: 6, seed, maxNewTokens: 8, minNewTokens: 2 },
    presets: PLAIN_PRESETS, // no greeting: the sources below are the user's turns alone
  });
  const turns: Turn[] = [];
  bot.events.on('candidates', ({ turn }) => turns.push(turn));
  return { bot, turns };
}

/** Counts the backward engine's score calls (the real engine still scores). */
function countScoreCalls(engine: DialogueEngine): ScorePair[][] {
  const calls: ScorePair[][] = [];
  const score = engine.score.bind(engine);
  (engine as { score: DialogueEngine['score'] }).score = (pairs) => {
    calls.push(pairs);
    return score(pairs);
  };
  return calls;
}

const argmax = (candidates: Candidate[], name: string) =>
  candidates.reduce((best, c, i) => (!c.rejected && (best === -1 || c.scores[name] > candidates[best].scores[name]) ? i : best), -1);

describe('MMI pairs in the backward format', () => {
  let bot: Bot;
  beforeAll(async () => {
    ({ bot } = await mmiBot({ avgLogprob: 1 }));
  });
  afterAll(() => bot.stop());

  it('puts the reply first and scores the source turns after it, newest first', async () => {
    const engine = await bot.loadEngine(backwardDir);
    const pair = backwardPair(engine, 'hello there', [{ role: 'user', text: 'how are you' }]);
    expect(pair.context).toEqual(engine.tokenizer.encodeMarkup('<|bot|>hello there<|endoftext|>'));
    expect(pair.continuation).toEqual(engine.tokenizer.encodeMarkup('<|user|>how are you'));

    const three = backwardPair(engine, 'ok', [
      { role: 'user', text: 'one' },
      { role: 'bot', text: 'two' },
      { role: 'user', text: 'three' },
    ]);
    expect(three.continuation).toEqual(engine.tokenizer.encodeMarkup('<|user|>three<|bot|>two<|endoftext|><|user|>one'));
  });

  it('reads a DialoGPT-style reverse model folder: every turn ends with <|endoftext|>', async () => {
    const engine = await bot.loadEngine(dialoGptDir);
    const pair = backwardPair(engine, 'hello there', [{ role: 'user', text: 'how are you' }]);
    const eos = engine.tokenizer.tokenId('<|endoftext|>')!;
    expect(pair.context).toEqual([...engine.tokenizer.encode('hello there'), eos]);
    expect(pair.continuation).toEqual([...engine.tokenizer.encode('how are you'), eos]);
  });

  it('refuses a forward model, saying what to change', async () => {
    const forward = await bot.loadEngine(FIXTURE_MODEL);
    expect(() => backwardPair(forward, 'a', [{ role: 'user', text: 'b' }])).toThrow(MmiFormatError);
    await expect(makeTestBot({ plugins: { mmi: { model: FIXTURE_MODEL } } })).rejects.toThrow(/direction.*backward/);
  });
});

describe('MMI scoring in the pipeline', () => {
  it('scores every candidate in one batched call: per-token log p(source | candidate)', async () => {
    const { bot, turns } = await mmiBot({ avgLogprob: 1 });
    try {
      const engine = await bot.loadEngine(backwardDir);
      const calls = countScoreCalls(engine);
      await bot.handle({ platform: 'test', channel: 'c1', text: 'do you like music', user: { id: 'u' } });
      const turn = turns.at(-1)!;
      const live = turn.candidates.filter((c) => !c.rejected);
      expect(live.length).toBeGreaterThan(1);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toHaveLength(live.length);

      // Recompute independently: the same pair through the engine, divided by the source length.
      const pairs = live.map((c) => backwardPair(engine, c.text, [{ role: 'user', text: 'do you like music' }]));
      const raw = await engine.score(pairs);
      live.forEach((c, i) => {
        expect(c.scores.mmi).toBeLessThan(0);
        expect(c.scores.mmi).toBeCloseTo(raw[i] / pairs[i].continuation.length, 5);
      });
    } finally {
      await bot.stop();
    }
  });

  it('uses the last k turns as the source when lastTurns is k', async () => {
    const { bot } = await mmiBot({ avgLogprob: 1 }, { lastTurns: 3 });
    try {
      const engine = await bot.loadEngine(backwardDir);
      const calls = countScoreCalls(engine);
      const message = { platform: 'test', channel: 'k3', user: { id: 'u' } };
      const first = await bot.handle({ ...message, text: 'hello' });
      await bot.handle({ ...message, text: 'tell me more' });
      const encode = (text: string) => engine.tokenizer.encodeMarkup(text);
      const expected = [...encode('<|user|>tell me more'), ...encode(`<|bot|>${first.text}<|endoftext|>`), ...encode('<|user|>hello')];
      expect(calls).toHaveLength(2);
      expect(calls[0][0].continuation).toEqual(encode('<|user|>hello'));
      expect(calls[1][0].continuation).toEqual(expected);
    } finally {
      await bot.stop();
    }
  });

  it('changes the choice when the backward scores say so (pure MMI = weights {mmi: 1})', async () => {
    let differed = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { bot, turns } = await mmiBot({ mmi: 1 }, {}, seed);
      try {
        const reply = await bot.handle({ platform: 'test', channel: `s${seed}`, text: 'what is your favourite band', user: { id: 'u' } });
        const turn = turns.at(-1)!;
        const byMmi = argmax(turn.candidates, 'mmi');
        const byForward = argmax(turn.candidates, 'avgLogprob');
        expect(turn.chosen).toBe(byMmi);
        expect(reply.text).toBe(turn.candidates[byMmi].text);
        if (byMmi !== byForward) differed++;
      } finally {
        await bot.stop();
      }
    }
    // On random weights the two models disagree for most seeds; MMI's pick is the one said.
    expect(differed).toBeGreaterThan(0);
  });

  it('combines mmi with the forward score by the configured weights, deterministically', async () => {
    const weights = { avgLogprob: 1, mmi: 0.5 };
    const { bot, turns } = await mmiBot(weights);
    try {
      await bot.handle({ platform: 'test', channel: 'w', text: 'nice weather today', user: { id: 'u' } });
      const turn = turns.at(-1)!;
      const expectedTotals = turn.candidates.map((c) => c.scores.avgLogprob + 0.5 * (c.scores.mmi ?? 0));
      const live = turn.candidates.flatMap((c, i) => (c.rejected ? [] : [i]));
      const best = live.reduce((b, i) => (expectedTotals[i] > expectedTotals[b] ? i : b), live[0]);
      expect(turn.chosen).toBe(best);
      for (const i of live) expect(turn.candidates[i].total).toBeCloseTo(expectedTotals[i], 9);
      // Re-selecting copies of the same scored candidates gives the same index every time.
      const again = [0, 1, 2].map(() => selectCandidate(structuredClone(turn.candidates), weights));
      expect(again).toEqual([best, best, best]);
    } finally {
      await bot.stop();
    }
  });
});

describe('weighted selection for fixed scores', () => {
  const candidate = (scores: Record<string, number>, rejected = false): Candidate => ({
    text: JSON.stringify(scores),
    tokens: [],
    logprob: 0,
    avgLogprob: 0,
    scores,
    ...(rejected ? { rejected: { by: 'test', reason: 'x' } } : {}),
  });

  it('is a weighted sum; ties go to the earlier candidate; rejected ones never win', () => {
    const candidates = [
      candidate({ avgLogprob: -1, mmi: -3 }),
      candidate({ avgLogprob: -2, mmi: -1 }),
      candidate({ avgLogprob: -2, mmi: -1 }),
      candidate({ avgLogprob: 0, mmi: 0 }, true),
    ];
    expect(weightedTotal(candidates[0].scores, { avgLogprob: 1, mmi: 1 })).toBe(-4);
    expect(selectCandidate(candidates, { avgLogprob: 1 })).toBe(0);
    expect(selectCandidate(candidates, { mmi: 1 })).toBe(1);
    expect(selectCandidate(candidates, { avgLogprob: 1, mmi: 0.4 })).toBe(0); // -2.2 vs -2.4
    expect(selectCandidate(candidates, { avgLogprob: 1, mmi: 0.6 })).toBe(1); // -2.8 vs -2.6
  });
});
