/**
 * Coordination on a real Redis, with two connections standing for two workers: the conversation
 * lock (exclusive, renewed, freed by lease expiry, fenced), admission counts shared by both, and
 * claims answered once.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LockWaitError, openRedisCoordination, type Coordination, type CoordinationConfig } from '../../core/coordination/index.js';
import { openHistoryStore, type HistoryStore } from '../../core/history/store.js';
import { createLogger } from '../../core/log.js';
import type { Conversation } from '../../core/types.js';
import { startRedis, type RedisForTests } from '../history/redis-server.js';

let redis: RedisForTests;
let url: string;
const opened: { close(): Promise<void> }[] = [];
const logger = createLogger('silent');
let run = 0;

beforeAll(async () => {
  redis = await startRedis();
  url = `${redis.url.replace(/\/\d*$/, '')}/11`;
});
afterAll(async () => {
  for (const thing of opened.splice(0)) await thing.close().catch(() => undefined);
  await redis?.stop();
});

async function worker(config: Partial<CoordinationConfig> = {}): Promise<Coordination> {
  const coordination = await openRedisCoordination(url, { leaseMs: 1_000, lockWaitMs: 10_000, ...config }, logger);
  opened.push(coordination);
  return coordination;
}

async function store(): Promise<HistoryStore> {
  const history = await openHistoryStore(url, '/');
  opened.push(history);
  return history;
}

const conversation = (key: string, texts: string[]): Conversation => ({
  key,
  preset: 'default',
  history: texts.map((text, index) => ({ role: index % 2 === 0 ? 'user' : 'bot', text, at: index })),
  state: {},
});

describe('conversation locks in Redis', () => {
  test('one holder at a time; the next waits for the release and gets a higher fencing token', async () => {
    const [a, b] = [await worker(), await worker()];
    const key = `web:lock-${++run}`;
    const first = await a.lock(key);
    const order: string[] = [];
    const second = b.lock(key).then((lock) => {
      order.push('b locked');
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    order.push('a releases');
    await first.release();
    const next = await second;
    expect(order).toEqual(['a releases', 'b locked']);
    expect(next.token).toBeGreaterThan(first.token);
    await next.release();
  });

  test('a lock held past several leases stays held while it is renewed', async () => {
    const [a, b] = [await worker({ leaseMs: 600 }), await worker({ lockWaitMs: 2_500 })];
    const key = `web:renewed-${++run}`;
    const held = await a.lock(key);
    await expect(b.lock(key)).rejects.toBeInstanceOf(LockWaitError);
    expect(await held.current()).toBe(true);
    await held.release();
  });

  test('a worker that dies frees its conversation one lease later, and its late write is refused', async () => {
    const dying = await worker({ leaseMs: 800 });
    const survivor = await worker();
    const history = await store();
    const key = `web:dies-${++run}`;
    const lost = await dying.lock(key);
    const lostFence = dying.fence(lost);
    await dying.close(); // no more renewals, as after kill -9
    const taken = await survivor.lock(key);
    expect(taken.token).toBeGreaterThan(lost.token);
    expect(await history.saveFenced!(conversation(key, ['from the survivor', 'ok']), survivor.fence(taken))).toBe(true);
    expect(await history.saveFenced!(conversation(key, ['stale worker', 'overwrites']), lostFence)).toBe(false);
    expect((await history.load(key))?.history.map((line) => line.text)).toEqual(['from the survivor', 'ok']);
    await taken.release();
  });

  test('a fenced save is read back by load() like a plain save', async () => {
    const a = await worker();
    const history = await store();
    const key = `web:readback-${++run}`;
    const lock = await a.lock(key);
    const saved = conversation(key, [':colon first', 'bot']);
    expect(await history.saveFenced!(saved, a.fence(lock))).toBe(true);
    expect(await history.load(key)).toEqual(saved);
    await lock.release();
  });
});

describe('admission counts and claims shared through Redis', () => {
  test('counters add up across workers and go at zero', async () => {
    const [a, b] = [(await worker()).admission, (await worker()).admission];
    const key = `count-${++run}`;
    expect(await a.add(key, 1, 60_000)).toBe(1);
    expect(await b.add(key, 1, 60_000)).toBe(2);
    expect(await a.add(key, -1, 60_000)).toBe(1);
    expect(await b.add(key, -1, 60_000)).toBe(0);
    expect(await b.add(key, -1, 60_000)).toBe(0);
    expect(await a.add(key, 1, 60_000)).toBe(1);
  });

  test('one token bucket is drained by both workers together', async () => {
    const [a, b] = [(await worker()).admission, (await worker()).admission];
    const key = `bucket-${++run}`;
    // Refill so slow (one token a day) that none comes back during the test.
    const takes = [await a.take(key, 3, 1 / 86_400), await b.take(key, 3, 1 / 86_400), await a.take(key, 3, 1 / 86_400), await b.take(key, 3, 1 / 86_400)];
    expect(takes).toEqual([true, true, true, false]);
  });

  test('an event id is claimed by one worker only', async () => {
    const [a, b] = [await worker(), await worker()];
    const id = `slack:event:E${++run}`;
    expect(await a.claim(id, 60_000)).toBe(true);
    expect(await b.claim(id, 60_000)).toBe(false);
    expect(await a.claim(id, 60_000)).toBe(false);
  });
});
