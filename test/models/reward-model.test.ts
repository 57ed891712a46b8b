/**
 * The shipped reward model (models/banter-reward): banter runs it as tools/reward/train.py
 * computed it, and on held-out Topical-Chat exchanges (dialogues no shipped model trained on) it
 * prefers the reply a person gave over a reply from another dialogue, measured beside the MMI
 * backward model on the same pairs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PairClassifier } from '../../core/classifier/pair-classifier.js';
import { loadEngine, type LoadedDialogueEngine } from '../../core/engine/index.js';
import { BACKWARD_MODEL, mismatched, MODELS_DIR } from './shipped.js';
import { runDataTests, topicalChatValidationExchanges } from './validation-data.js';

const REWARD_MODEL = path.join(MODELS_DIR, 'banter-reward');
let reward: PairClassifier;

beforeAll(async () => {
  reward = await PairClassifier.load(REWARD_MODEL, { threads: 1 });
});
afterAll(async () => {
  await reward?.dispose();
});

describe('banter-reward', () => {
  it('gives the scores torch gave, through its own pair template', async () => {
    const parity = JSON.parse(await readFile(path.join(REWARD_MODEL, 'parity.json'), 'utf8')) as { context: string; response: string; inputIds: number[]; score: number }[];
    for (const pair of parity) expect(reward.encode(pair.context, pair.response).ids).toEqual(pair.inputIds);
    const rows = await reward.logits(parity);
    rows.forEach((row, i) => expect(row[0]).toBeCloseTo(parity[i].score, 3));
  });

  it.runIf(runDataTests)('prefers the true reply over a reply from another dialogue for most held-out user turns, beside MMI', async () => {
    const exchanges = topicalChatValidationExchanges();
    const messages = exchanges.map((exchange) => exchange.history.at(-1)!.text);
    const trueReplies = exchanges.map((exchange) => exchange.reply);
    const otherReplies = mismatched(trueReplies);
    const score = async (replies: string[]) => (await reward.logits(messages.map((context, i) => ({ context, response: replies[i] })))).map((row) => row[0]);
    const [withTrue, withOther] = [await score(trueReplies), await score(otherReplies)];
    const wins = withTrue.filter((s, i) => s > withOther[i]).length;

    const backward: LoadedDialogueEngine = await loadEngine(BACKWARD_MODEL, { device: 'cpu', fallback: 'fail', intraOpThreads: 1 });
    let mmiWins = 0;
    try {
      const mmi = (replies: string[]) =>
        backward.score(messages.map((source, i) => ({ context: backward.encodeTurns([{ role: 'bot', text: replies[i] }]), continuation: backward.encodeTurns([{ role: 'user', text: source }]) })));
      const [mmiTrue, mmiOther] = [await mmi(trueReplies), await mmi(otherReplies)];
      mmiWins = mmiTrue.filter((s, i) => s > mmiOther[i]).length;
    } finally {
      await backward.dispose();
    }
    console.info(`reward model: true reply preferred in ${wins}/${exchanges.length} = ${(wins / exchanges.length).toFixed(3)}; MMI backward model on the same pairs: ${mmiWins}/${exchanges.length} = ${(mmiWins / exchanges.length).toFixed(3)}`);
    expect(wins / exchanges.length).toBeGreaterThan(0.7);
  }, 300_000);
});
