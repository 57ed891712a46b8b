/**
 * kill -9 during saves: a child process saves megabytes of history in a loop and is killed with
 * SIGKILL while it writes; after each kill the store must open and hold every turn whose save the
 * child had acknowledged. Ten kills per store, on the same store, each round adding keys.
 */
import type { ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openHistoryStore } from '../../core/history/store.js';
import { FIXTURE_MODEL } from '../helpers/bot.js';
import { compileChildren, type CompiledChildren } from '../helpers/children.js';
import { startRedis, type RedisForTests } from './redis-server.js';

const ROUNDS = 10;
/** Characters per saved turn: 4 keys x 20 turns x 100,000 = a store of about 8 MB, as in the report of #18. */
const PADDING = 100_000;

let dir: string;
let redis: RedisForTests;
let children: CompiledChildren;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-kill-'));
  redis = await startRedis();
  children = compileChildren();
});
afterAll(async () => {
  children?.remove();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The folder a file store writes in, relative to `dir`; undefined for Redis. */
function folderOf(url: string): string | undefined {
  return url.startsWith('redis') ? undefined : join(dir, dirname(url.replace(/^[a-z]+:\/\//, '')));
}

/** SIGKILL on the next change in `folder` (a write under way), or after a short pause when there is none. */
async function killDuringWrite(child: ChildProcess, folder: string | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    const watcher = folder ? watch(folder) : undefined;
    const kill = () => {
      watcher?.close();
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve();
    };
    watcher?.once('change', kill);
    const timer = setTimeout(kill, folder ? 2_000 : 25);
  });
}

const stores: Record<string, () => string> = {
  'file:// (SQLite beside the JSON name)': () => 'file://kill/history.json',
  'sqlite://': () => 'sqlite://kill/history.sqlite',
  'redis://': () => `${redis.url.replace(/\/\d*$/, '')}/7`,
};

describe.each(Object.keys(stores))('%s store', (name) => {
  test(`opens and holds every acknowledged save after each of ${ROUNDS} kill -9 during saves`, async () => {
    const url = stores[name]();
    /** The last acknowledged turn number of each key, over all rounds. */
    const acknowledged = new Map<string, number>();
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const child = children.spawn('save-loop', [url, dir, `round${round}`, String(PADDING)]);
      const ready = await child.waitForLine((line) => line === 'ready').then(() => true, () => false);
      if (!ready) {
        problems.push(`round ${round}: the store did not open: ${child.stderr().split('\n').find((line) => line.startsWith('Error')) ?? child.stderr()}`);
        break;
      }
      // After some acknowledged saves, kill the child as soon as it writes to the store's folder
      // again: in the middle of a save. (Redis has no folder here: a short pause instead.)
      const after = 3 + ((round * 7) % 11);
      await child.waitForLine(() => child.lines.filter((line) => line.startsWith('ack ')).length >= after);
      await killDuringWrite(child.process, folderOf(url));
      expect((await child.exited).signal).toBe('SIGKILL');
      for (const line of child.lines.filter((l) => l.startsWith('ack '))) {
        const [, key, turn] = line.split(' ');
        acknowledged.set(key, Math.max(acknowledged.get(key) ?? -1, Number(turn)));
      }

      const store = await openHistoryStore(url, dir).catch((error: Error) => {
        problems.push(`round ${round}: the store did not open: ${error.message}`);
        return undefined;
      });
      if (!store) continue;
      try {
        for (const [key, turn] of acknowledged) {
          const conversation = await store.load(key);
          const texts = conversation?.history.map((t) => t.text.split(' ').slice(0, 2).join(' ')) ?? [];
          if (!texts.includes(`turn ${turn}`)) problems.push(`round ${round}: ${key} lost acknowledged turn ${turn}`);
        }
      } finally {
        await store.close();
      }
    }
    expect(problems).toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(ROUNDS);
  }, 240_000);
});

describe('a bot killed with SIGKILL while it answers', () => {
  test(`loses no reply a user saw, over ${ROUNDS} kills (file:// store)`, async () => {
    const url = `file://${join(dir, 'bot-kill/history.json')}`;
    const seen: { key: string; message: number }[] = [];
    const lost: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const child = children.spawn('bot-turns', [url, FIXTURE_MODEL, `round${round}`]);
      const ready = await child.waitForLine((line) => line === 'ready').then(() => true, () => false);
      if (!ready) {
        lost.push(`round ${round}: the bot did not start: ${child.stderr().split('\n').find((line) => line.startsWith('Error')) ?? child.stderr()}`);
        break;
      }
      await child.waitForLine(() => child.lines.filter((line) => line.startsWith('seen ')).length >= 3 + (round % 4));
      await mkdir(join(dir, 'bot-kill'), { recursive: true });
      await killDuringWrite(child.process, join(dir, 'bot-kill'));
      await child.exited;
      const thisRound = child.lines.filter((line) => line.startsWith('seen ')).map((line) => ({ key: line.split(' ')[1], message: Number(line.split(' ')[2]) }));
      seen.push(...thisRound);
      const store = await openHistoryStore(url, dir).catch((error: Error) => void lost.push(`round ${round}: the store did not open: ${error.message}`));
      if (!store) break;
      try {
        for (const { key, message } of seen) {
          const texts = (await store.load(key))?.history.map((turn) => turn.text) ?? [];
          if (!texts.includes(`message ${message}`)) lost.push(`${key} message ${message}`);
        }
      } finally {
        await store.close();
      }
    }
    expect(lost).toEqual([]);
    expect(seen.length).toBeGreaterThanOrEqual(ROUNDS * 3);
  }, 240_000);
});
