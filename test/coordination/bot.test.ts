/**
 * Two real bots (two "workers" in one test process, each with its own Redis connections) on one
 * Redis history store: turns of one conversation never overlap across them and its history is
 * exact; a turn whose lock was lost before its write delivers nothing and runs again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Bot } from '../../core/bot.js';
import { openRedisCoordination, type Coordination } from '../../core/coordination/index.js';
import { createLogger } from '../../core/log.js';
import type { Reply } from '../../core/types.js';
import { makeTestBot } from '../helpers/bot.js';
import { startRedis, type RedisForTests } from '../history/redis-server.js';

let redis: RedisForTests;
let url: string;
const bots: Bot[] = [];

beforeAll(async () => {
  redis = await startRedis();
  url = `${redis.url.replace(/\/\d*$/, '')}/12`;
});
afterAll(async () => {
  for (const bot of bots.splice(0)) await bot.stop();
  await redis?.stop();
});

async function worker(options: { coordination?: Coordination } = {}): Promise<Bot> {
  const bot = await makeTestBot({ history: { store: url, maxTurns: 100, maxTokens: 100_000 }, coordination: { leaseMs: 2_000 }, admission: { maxPerConversation: 0, maxPerUser: 0 } }, options);
  bots.push(bot);
  return bot;
}

const message = (channel: string, text: string) => ({ platform: 'web', channel, user: { id: 'u1', name: 'Ann' }, text });

describe('two workers on one Redis', () => {
  test('turns of one conversation sent to both at once run one at a time, and each is in the history once', async () => {
    const workers = [await worker(), await worker()];
    const channel = `both-${Date.now()}`;
    const running: string[] = [];
    const overlaps: string[] = [];
    for (const bot of workers) {
      bot.events.on('turn:start', ({ turn }) => {
        if (running.length > 0) overlaps.push(`${turn.message.text} started while ${running.join(', ')} ran`);
        running.push(turn.message.text);
      });
      bot.events.on('turn:end', ({ turn }) => running.splice(running.indexOf(turn.message.text), 1));
    }
    const texts = Array.from({ length: 10 }, (_, i) => `message ${i}`);
    const replies = await Promise.all(texts.map((text, i) => workers[i % 2].handle(message(channel, text))));
    expect(overlaps).toEqual([]);
    expect(replies.map((reply) => reply.kind)).toEqual(texts.map(() => "model"));
    const stored = (await workers[0].conversation({ platform: 'web', channel })).history;
    expect(stored).toHaveLength(20);
    expect(stored.filter((line) => line.role === 'user').map((line) => line.text).sort()).toEqual([...texts].sort());
    // Each user line is followed by the reply its turn gave.
    const byText = new Map(texts.map((text, i) => [text, replies[i].text]));
    for (let i = 0; i < stored.length; i += 2) expect(stored[i + 1].text).toBe(byText.get(stored[i].text));
  });

  test('a turn whose lock was lost before it saved delivers nothing and is answered again under a new lock', async () => {
    const real = await openRedisCoordination(url, { leaseMs: 2_000, lockWaitMs: 10_000 }, createLogger('silent'));
    let locks = 0;
    // The first lock's fence is one another worker has since overtaken (this worker "stalled").
    const stalling: Coordination = {
      url: real.url,
      admission: real.admission,
      claim: (id, ttl) => real.claim(id, ttl),
      close: () => real.close(),
      lock: (key) =>
        real.lock(key).then((lock) => {
          locks++;
          return lock;
        }),
      fence: (lock) => ({ ...real.fence(lock), token: locks === 1 ? lock.token - 1 : lock.token }),
    };
    const bot = await worker({ coordination: stalling });
    const channel = `stalls-${Date.now()}`;
    const delivered: Reply[] = [];
    const reply = await bot.handle(message(channel, 'hello there'), async (r) => void delivered.push(r));
    expect(locks).toBe(2);
    expect(delivered).toEqual([reply]);
    const stored = (await bot.conversation({ platform: 'web', channel })).history.map((line) => line.text);
    expect(stored).toEqual(['hello there', reply.text]);
    await real.close();
  });
});
