/**
 * Feedback through the bot: a delivered reply is rateable, and its rating is stored with the whole
 * trace of its turn; ratings come only from the turn's conversation; people are pseudonyms unless
 * configured; ratings and traces expire; a failing store never costs the reply.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { FEEDBACK_MESSAGES, openFeedbackStore, type FeedbackEntry, type FeedbackStore } from '../../core/feedback/index.js';
import { createLogger } from '../../core/log.js';
import type { IncomingMessage, Plugin, Reply } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';

const DAY = 86_400_000;
const address = { platform: 'web', channel: 'client-a', thread: 'conv-1' };
const message = (text: string): IncomingMessage => ({ ...address, text, user: { id: 'alice' } });

/** A plugin that gives every candidate a score and rejects the second, so the trace has both. */
const scorer: Plugin = {
  name: 'scorer',
  score(turn) {
    turn.candidates.forEach((candidate, i) => (candidate.scores.probe = i));
  },
  filter(turn) {
    if (turn.candidates[1]) turn.candidates[1].rejected = { by: 'scorer', reason: 'second one' };
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-bot-feedback-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function answered(bot: Bot, text: string): Promise<Reply> {
  let delivered: Reply | undefined;
  const reply = await bot.handle(message(text), async (r) => void (delivered = { ...r }));
  expect(delivered).toEqual(reply);
  return reply;
}

describe('feedback through the bot (SQLite store)', () => {
  let bot: Bot;
  let file: string;
  beforeAll(async () => {
    file = join(dir, 'feedback.sqlite');
    bot = await makeTestBot({ decoding: { numCandidates: 3, seed: 4, maxNewTokens: 8 } as never, feedback: { store: `sqlite://${file}`, retentionDays: 30, rateWithinDays: 2 } }, { plugins: [scorer] });
  });
  afterAll(async () => {
    await bot?.stop();
  });

  const stored = async (): Promise<FeedbackEntry[]> => {
    const store = await openFeedbackStore(`sqlite://${file}`, dir);
    try {
      return await store.feedback();
    } finally {
      await store.close();
    }
  };

  it('stores a rating with its turn: every candidate with scores and rejections, the chosen one, preset, model, weights, prompt', async () => {
    const reply = await answered(bot, 'hello there');
    expect(reply).toMatchObject({ kind: 'model', rateable: true });
    expect(reply.turnId).toMatch(/^[\w-]+$/);
    expect(await bot.rate({ turnId: reply.turnId!, rating: 'up', user: { id: 'alice' }, address })).toEqual({ ok: true, message: FEEDBACK_MESSAGES.up });

    const [entry] = (await stored()).filter((e) => e.turnId === reply.turnId);
    expect(entry).toMatchObject({ rating: 'up', turn: { preset: 'default', platform: 'web', conversation: 'web:client-a:conv-1', message: 'hello there', model: { name: 'tiny-gpt2' } } });
    const { turn } = entry;
    expect(turn.candidates).toHaveLength(3);
    expect(turn.candidates.map((c) => c.scores.probe)).toEqual([0, 1, 2]);
    expect(turn.candidates[1].rejected).toEqual({ by: 'scorer', reason: 'second one' });
    expect(turn.candidates[turn.chosen].text).toBe(reply.text);
    // The effective weights: declared plugin defaults (logprob 0) under the configured ones.
    expect(turn.weights).toEqual({ logprob: 0, ...bot.config.selection.weights });
    expect(turn.decoding.numCandidates).toBe(3);
    expect(turn.prompt.history.at(-1)).toEqual({ role: 'user', text: 'hello there' });
    expect(turn.promptText).toContain('hello there');
    expect(turn.trace.map((t) => t.stage)).toEqual(expect.arrayContaining(['prompt', 'generate', 'score', 'filter', 'select']));
    // A pseudonym, not the id, and the same one for the same person.
    expect(entry.user).not.toContain('alice');
    await bot.rate({ turnId: reply.turnId!, rating: 'down', reason: '  too vague\u0000 ', user: { id: 'alice' }, address });
    await bot.rate({ turnId: reply.turnId!, rating: 'up', user: { id: 'bob' }, address });
    const both = (await stored()).filter((e) => e.turnId === reply.turnId);
    expect(both.map(({ rating, reason }) => ({ rating, reason }))).toEqual([{ rating: 'down', reason: 'too vague' }, { rating: 'up', reason: undefined }]);
    expect(both[0].user).toBe(entry.user);
    expect(both[1].user).not.toBe(entry.user);
  });

  it('keeps ratings for the retention period and traces for as long as a reply may be rated', async () => {
    const reply = await answered(bot, 'how are you?');
    await bot.rate({ turnId: reply.turnId!, rating: 'up', user: { id: 'carol' }, address });
    const db = new Database(file, { readonly: true });
    const kept = db.prepare('SELECT expires_at - at AS ms FROM feedback').all() as { ms: number }[];
    const turn = db.prepare('SELECT expires_at, value FROM feedback_turns').all() as { expires_at: number; value: string }[];
    db.close();
    for (const { ms } of kept) expect(Math.abs(ms - 30 * DAY)).toBeLessThan(60_000);
    for (const row of turn) expect(Math.abs(row.expires_at - (JSON.parse(row.value) as { at: number }).at - 2 * DAY)).toBeLessThan(60_000);
  });

  it('takes ratings only from the turn\'s conversation, for turns it knows', async () => {
    const reply = await answered(bot, 'tell me something');
    expect(await bot.rate({ turnId: reply.turnId!, rating: 'up', user: { id: 'mallory' }, address: { ...address, thread: 'conv-2' } })).toEqual({ ok: false, message: FEEDBACK_MESSAGES.elsewhere });
    expect(await bot.rate({ turnId: 'no-such-turn', rating: 'up', user: { id: 'alice' }, address })).toEqual({ ok: false, message: FEEDBACK_MESSAGES.unknown });
    expect(await bot.rate({ turnId: reply.turnId!, rating: 'sideways' as never, user: { id: 'alice' }, address })).toEqual({ ok: false, message: FEEDBACK_MESSAGES.unknown });
    expect(await bot.rate({ turnId: '../../etc', rating: 'up', user: { id: 'alice' }, address })).toEqual({ ok: false, message: FEEDBACK_MESSAGES.unknown });
  });

  it('offers no rating on command answers', async () => {
    const reply = await bot.handle(message('/help'));
    expect(reply.kind).toBe('command');
    expect(reply.rateable).toBeUndefined();
    expect(reply.turnId).toBeUndefined();
  });
});

describe('feedback settings', () => {
  it('stores platform ids as they are when hashUserIds is false', async () => {
    const store = await openFeedbackStore('memory://', dir);
    const bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } as never, feedback: { hashUserIds: false } }, { feedback: store });
    try {
      const reply = await answered(bot, 'hi');
      await bot.rate({ turnId: reply.turnId!, rating: 'down', user: { id: 'alice' }, address });
      expect((await store.feedback()).map((e) => e.user)).toEqual(['web:alice']);
    } finally {
      await bot.stop();
    }
  });

  it('offers nothing to rate when feedback is disabled', async () => {
    const bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } as never, feedback: { enabled: false } });
    try {
      const reply = await answered(bot, 'hi');
      expect(reply.rateable).toBeUndefined();
      expect(await bot.rate({ turnId: reply.turnId!, rating: 'up', user: { id: 'alice' }, address })).toEqual({ ok: false, message: FEEDBACK_MESSAGES.disabled });
    } finally {
      await bot.stop();
    }
  });

  it('delivers the reply, not rateable, when the feedback store fails; the cause is logged', async () => {
    const inner = await openFeedbackStore('memory://', dir);
    const broken: FeedbackStore = { ...bind(inner), putTurn: async () => Promise.reject(new Error('disk full')) };
    const lines: string[] = [];
    const logger = createLogger('warn', { name: 'test' });
    logger.warn = ((...args: unknown[]) => void lines.push(JSON.stringify(args, (_key, value: unknown) => (value instanceof Error ? value.message : value)))) as typeof logger.warn;
    const bot = await makeTestBot({ decoding: { numCandidates: 2, maxNewTokens: 6 } as never }, { feedback: broken, logger });
    try {
      const reply = await answered(bot, 'hi');
      expect(reply.kind).toBe('model');
      expect(reply.rateable).toBeUndefined();
      expect(lines.join('\n')).toMatch(/disk full.*could not keep the turn for feedback/);
    } finally {
      await bot.stop();
    }
  });
});

function bind(store: FeedbackStore): FeedbackStore {
  return {
    putTurn: store.putTurn.bind(store),
    turn: store.turn.bind(store),
    putFeedback: store.putFeedback.bind(store),
    feedback: store.feedback.bind(store),
    secret: store.secret.bind(store),
    close: store.close.bind(store),
  };
}
