/** `banter feedback export`: the preference pairs of a handcrafted trace, in both layouts, from the store a config names. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeedbackStore, pairRecord, preferencePairs } from '../../core/feedback/index.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { runFeedbackCli } from './cli.js';
import { candidate, rating, turnRecord } from './records.js';

/**
 * Five candidates: #0 the reply; #1 and #3 reached selection; #2 was rejected by safety; #4
 * repeats the reply's text. So the reply was compared with #1 and #3 only.
 */
const liked = turnRecord(
  'turn-liked',
  [
    candidate('It is 8,849 metres tall.', { avgLogprob: -1.2, mmi: -2.0 }),
    candidate('Tall.', { avgLogprob: -1.9, mmi: -3.1 }),
    candidate('You are stupid.', { avgLogprob: -1.0, mmi: -2.2 }, { by: 'safety', reason: 'insult_user (p=0.97)' }),
    candidate('I like climbing.', { avgLogprob: -2.4, mmi: -2.5 }),
    candidate(' It is 8,849  metres tall. ', { avgLogprob: -1.5, mmi: -2.6 }),
  ],
  0,
);
const disliked = turnRecord('turn-disliked', [candidate('Maybe.', { avgLogprob: -0.9, mmi: -3 }), candidate('About 8.8 km.', { avgLogprob: -1.4, mmi: -1.9 }), candidate('', {}, { by: 'core', reason: 'empty reply' })], 0, {
  prompt: { persona: [], knowledge: [], history: [{ role: 'bot', text: 'Hi!' }, { role: 'user', text: 'How high is it?' }] },
  promptText: '<|bot|>Hi!<|endoftext|><|user|>How high is it?<|bot|>',
});
const fallback = turnRecord('turn-fallback', [candidate('Rude.', {}, { by: 'safety', reason: 'insult_user (p=0.99)' })], -1);
const entries = [rating(liked, 'up', 'user-1', liked.at + 1), rating(disliked, 'down', 'user-2', liked.at + 2), rating(fallback, 'down', 'user-3', liked.at + 3)];

const summary = (pairs: ReturnType<typeof preferencePairs>) => pairs.map((p) => ({ turn: p.turn.turnId, rating: p.rating, chosen: p.chosen, rejected: p.rejected }));

describe('preference pairs', () => {
  it('puts a 👍 reply over each candidate it beat at selection, and each such candidate over a 👎 reply', () => {
    expect(summary(preferencePairs(entries))).toEqual([
      { turn: 'turn-liked', rating: 'up', chosen: 0, rejected: 1 },
      { turn: 'turn-liked', rating: 'up', chosen: 0, rejected: 3 },
      { turn: 'turn-disliked', rating: 'down', chosen: 1, rejected: 0 },
    ]);
  });

  it('writes the conversational chosen/rejected layout: persona and knowledge as the system message, then the history', () => {
    const [first, , third] = preferencePairs(entries);
    expect(pairRecord(first, { format: 'conversational' })).toEqual({
      prompt: [
        { role: 'system', content: 'I am a mountain.\nEverest is 8,849 m tall.' },
        { role: 'user', content: 'How tall is Mount Everest?' },
      ],
      chosen: [{ role: 'assistant', content: 'It is 8,849 metres tall.' }],
      rejected: [{ role: 'assistant', content: 'Tall.' }],
    });
    expect(pairRecord(third, { format: 'conversational' })).toEqual({
      prompt: [
        { role: 'assistant', content: 'Hi!' },
        { role: 'user', content: 'How high is it?' },
      ],
      chosen: [{ role: 'assistant', content: 'About 8.8 km.' }],
      rejected: [{ role: 'assistant', content: 'Maybe.' }],
    });
  });

  it('writes the text layout (the prompt as the model read it) with the scores under meta when asked', () => {
    const [, second] = preferencePairs(entries);
    expect(pairRecord(second, { format: 'text', meta: true })).toEqual({
      prompt: liked.promptText,
      chosen: 'It is 8,849 metres tall.',
      rejected: 'I like climbing.',
      meta: {
        turnId: 'turn-liked',
        rating: 'up',
        preset: 'default',
        model: 'tiny-gpt2',
        at: liked.at,
        chosenIndex: 0,
        rejectedIndex: 3,
        chosenScores: { avgLogprob: -1.2, mmi: -2.0 },
        rejectedScores: { avgLogprob: -2.4, mmi: -2.5 },
      },
    });
  });
});

describe('banter feedback export', () => {
  let dir: string;
  let config: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'banter-export-'));
    config = join(dir, 'bot.yaml');
    await writeFile(config, `engine:\n  model: ${FIXTURE_MODEL}\nhistory:\n  store: memory://\nfeedback:\n  store: sqlite://feedback.sqlite\n`);
    const store = await openFeedbackStore('sqlite://feedback.sqlite', dir);
    for (const entry of entries) await store.putFeedback(entry, 3_600_000);
    await store.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => (await runFeedbackCli(...args)).errors;

  it('writes one JSON line per pair from the store the config names', async () => {
    const output = join(dir, 'pairs.jsonl');
    const said = await run('feedback', 'export', '-c', config, '-o', output);
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual(preferencePairs(entries).map((pair) => pairRecord(pair, { format: 'conversational' })));
    expect(said).toEqual([`3 ratings (1 👍, 2 👎) -> 3 preference pairs in ${output}`]);
  });

  it('refuses a memory:// store, which lives only inside the running bot', async () => {
    const memory = join(dir, 'memory.yaml');
    await writeFile(memory, `engine:\n  model: ${FIXTURE_MODEL}\n`);
    await expect(run('feedback', 'export', '-c', memory)).rejects.toThrow(/memory:\/\/.*set feedback\.store/);
  });
});
