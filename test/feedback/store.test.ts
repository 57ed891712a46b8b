/** The feedback store on every backend: traces and ratings round-trip, one rating per person and turn, expiry, one key per store. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../core/config/errors.js';
import { openFeedbackStore } from '../../core/feedback/index.js';
import { startRedis, type RedisForTests } from '../history/redis-server.js';
import { candidate, rating, turnRecord } from './records.js';

let dir: string;
let redis: RedisForTests;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-feedback-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

let runId = 0;
const backends: Record<string, () => string> = {
  memory: () => 'memory://',
  file: () => `file://feedback-${++runId}.json`,
  sqlite: () => `sqlite://feedback-${++runId}.sqlite`,
  redis: () => `${redis.url.replace(/\/\d*$/, '')}/${++runId % 16}`,
};
const HOUR = 3_600_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(Object.keys(backends))('%s feedback store', (backend) => {
  test('keeps a turn trace and its ratings; a person rating again replaces their rating', async () => {
    const store = await openFeedbackStore(backends[backend](), dir);
    try {
      const turn = turnRecord(`turn-${backend}-${runId}`, [candidate('Very tall.', { avgLogprob: -1, mmi: -2 }), candidate('No idea', { avgLogprob: -3, mmi: -4 }, { by: 'safety', reason: 'insult_user (p=0.91)' })], 0);
      expect(await store.turn(turn.turnId)).toBeUndefined();
      await store.putTurn(turn, HOUR);
      expect(await store.turn(turn.turnId)).toEqual(turn);

      await store.putFeedback(rating(turn, 'down', 'alice', turn.at + 1), HOUR);
      await store.putFeedback(rating(turn, 'up', 'bob', turn.at + 2), HOUR);
      await store.putFeedback(rating(turn, 'up', 'alice', turn.at + 3, 'changed my mind'), HOUR);
      const entries = (await store.feedback()).filter((entry) => entry.turnId === turn.turnId);
      expect(entries.map(({ user, rating: value, reason }) => ({ user, rating: value, reason }))).toEqual([
        { user: 'bob', rating: 'up', reason: undefined },
        { user: 'alice', rating: 'up', reason: 'changed my mind' },
      ]);
      expect(entries[1].turn).toEqual(turn);
    } finally {
      await store.close();
    }
  });

  test('forgets turns and ratings past their time', async () => {
    const store = await openFeedbackStore(backends[backend](), dir);
    try {
      const turn = turnRecord(`expiring-${backend}-${runId}`, [candidate('Hi.', {})], 0);
      await store.putTurn(turn, 1);
      await store.putFeedback(rating(turn, 'up', 'carol'), 1);
      await pause(30);
      expect(await store.turn(turn.turnId)).toBeUndefined();
      expect((await store.feedback()).some((entry) => entry.turnId === turn.turnId)).toBe(false);
    } finally {
      await store.close();
    }
  });

  test('has one pseudonym key, the same on every opening of a shared store', async () => {
    const url = backends[backend]();
    const first = await openFeedbackStore(url, dir);
    const key = await first.secret();
    expect(key).toMatch(/^[\w-]{32,}$/);
    expect(await first.secret()).toBe(key);
    await first.close();
    if (backend === 'memory') return;
    const again = await openFeedbackStore(url, dir);
    expect(await again.secret()).toBe(key);
    await again.close();
  });
});

test('sqlite:// and file:// keep feedback in their own tables, beside a history database in the same file', async () => {
  const store = await openFeedbackStore('file://shared.json', dir);
  await store.close();
  const db = new Database(join(dir, 'shared.sqlite'), { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((row) => row.name);
  db.close();
  expect(tables).toEqual(['feedback', 'feedback_meta', 'feedback_turns']);
});

test('an unknown scheme is a config error at /feedback/store', async () => {
  await expect(openFeedbackStore('postgres://db/feedback', dir, 'bot.yaml')).rejects.toThrow(ConfigError);
  await expect(openFeedbackStore('postgres://db/feedback', dir, 'bot.yaml')).rejects.toThrow(/bot\.yaml.*\/feedback\/store/);
});
