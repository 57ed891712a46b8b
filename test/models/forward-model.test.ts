import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { FORWARD_MODEL, GREEDY, mismatched } from './shipped.js';
import { runDataTests, topicalChatValidationExchanges, type Exchange } from './validation-data.js';

let engine: LoadedDialogueEngine;
let exchanges: Exchange[];

beforeAll(async () => {
  engine = await loadEngine(FORWARD_MODEL, { device: 'cpu', fallback: 'fail', intraOpThreads: 1 });
  if (runDataTests) exchanges = topicalChatValidationExchanges();
});
afterAll(async () => {
  await engine?.dispose();
});

/** Mean negative log-likelihood per token of each reply after the given histories. */
async function replyNll(histories: Exchange['history'][], replies: string[]): Promise<number> {
  const end = engine.tokenizer.tokenId(engine.format!.end)!;
  const pairs = histories.map((history, i) => {
    const continuation = [...engine.tokenizer.encode(replies[i]), end];
    const { tokens } = engine.encodeDialogue(
      { persona: [], knowledge: [], history: history.map((turn) => ({ ...turn, at: 0 })) },
      continuation.length,
    );
    return { context: tokens, continuation };
  });
  const logprobs = await engine.score(pairs);
  const tokens = pairs.reduce((sum, pair) => sum + pair.continuation.length, 0);
  return -logprobs.reduce((sum, logprob) => sum + logprob, 0) / tokens;
}

describe('banter-chat (forward model)', () => {
  it('declares its dialogue format and a sampling default', () => {
    expect(engine.format!.direction).toBe('forward');
    expect(engine.format!.responsePrefix).toBe('<|bot|>');
    expect(engine.info.generation.strategy).toBe('sample');
    expect(engine.info.generation.maxNewTokens).toBe(40);
  });

  it('round-trips text through its tokenizer, with the dialogue tokens as single ids', () => {
    const texts = [
      "Hi there! Did you know Miles Davis's Kind of Blue came out in 1959?",
      '  spaces,\ttabs and\nnew lines  ',
      'Café, naïve, Zürich, 東京, emoji 🎸🎶',
    ];
    for (const text of texts) expect(engine.tokenizer.decode(engine.tokenizer.encode(text))).toBe(text);
    for (const token of ['<|endoftext|>', '<|user|>', '<|bot|>', '<|persona|>', '<|knowledge|>']) {
      const id = engine.tokenizer.tokenId(token);
      expect(id).toBeTypeOf('number');
      expect(engine.tokenizer.encodeMarkup(token)).toEqual([id]);
    }
  });

  it.runIf(runDataTests)('finds held-out replies more likely after their own history than after another dialogue', async () => {
    expect(exchanges.length).toBeGreaterThan(40);
    const replies = exchanges.map((exchange) => exchange.reply);
    const matched = await replyNll(exchanges.map((exchange) => exchange.history), replies);
    const shuffled = await replyNll(mismatched(exchanges).map((exchange) => exchange.history), replies);
    console.info(`forward model: reply NLL ${matched.toFixed(3)} with own history, ${shuffled.toFixed(3)} shuffled`);
    expect(matched).toBeLessThan(shuffled - 0.1);
  }, 300_000);

  it('answers a user turn with words and stops at its end token', async () => {
    const { tokens } = engine.encodeDialogue(
      { persona: [], knowledge: [], history: [{ role: 'user', text: 'Hi! Do you like music?', at: 0 }] },
      40,
    );
    // The shipped defaults (repetition penalty, no repeated trigram), decoded greedily to be deterministic.
    const [candidate] = await engine.generate(tokens, { ...GREEDY, ...engine.info.generation, strategy: 'greedy', numCandidates: 1 });
    expect(candidate.text).toMatch(/[a-z]{2,}/i);
    expect(candidate.finished).toBe(true);
  }, 120_000);
});
