import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { BACKWARD_MODEL, mismatched } from './shipped.js';
import { runDataTests, topicalChatValidationExchanges, type Exchange } from './validation-data.js';

let engine: LoadedDialogueEngine;
let exchanges: Exchange[];

beforeAll(async () => {
  engine = await loadEngine(BACKWARD_MODEL, { device: 'cpu', fallback: 'fail', intraOpThreads: 1 });
  if (runDataTests) exchanges = topicalChatValidationExchanges();
});
afterAll(async () => {
  await engine?.dispose();
});

/** log p(source | response) as MMI reranking asks it: the reply first, then the user turn it answers. */
async function sourceGivenResponse(sources: string[], responses: string[]): Promise<number[]> {
  return engine.score(
    sources.map((source, i) => ({
      context: engine.encodeTurns([{ role: 'bot', text: responses[i] }]),
      continuation: engine.encodeTurns([{ role: 'user', text: source }]),
    })),
  );
}

describe('banter-chat-backward (MMI model)', () => {
  it('is declared as a backward model over the same tokens as the forward one', () => {
    expect(engine.format!.direction).toBe('backward');
    expect(engine.tokenizer.tokenId('<|bot|>')).toBeTypeOf('number');
  });

  it.runIf(runDataTests)('prefers the true reply over a reply from another dialogue for most held-out user turns', async () => {
    expect(exchanges.length).toBeGreaterThan(40);
    const sources = exchanges.map((exchange) => exchange.history.at(-1)!.text);
    const trueReplies = exchanges.map((exchange) => exchange.reply);
    const otherReplies = mismatched(trueReplies);
    const withTrue = await sourceGivenResponse(sources, trueReplies);
    const withOther = await sourceGivenResponse(sources, otherReplies);
    const wins = withTrue.filter((score, i) => score > withOther[i]).length;
    const fraction = wins / exchanges.length;
    console.info(`backward model: true reply scores the source higher in ${wins}/${exchanges.length} = ${fraction.toFixed(3)}`);
    expect(fraction).toBeGreaterThan(0.6);
  }, 300_000);
});
