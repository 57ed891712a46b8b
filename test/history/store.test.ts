import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../../core/config/errors.js';
import { openHistoryStore, type HistoryStore } from '../../core/history/store.js';
import type { Conversation } from '../../core/types.js';
import { startRedis, type RedisForTests } from './redis-server.js';

let dir: string;
let redis: RedisForTests;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-history-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

function conversation(key: string, texts: string[]): Conversation {
  return {
    key,
    preset: 'default',
    history: texts.map((text, index) => ({ role: index % 2 === 0 ? 'user' : 'bot', text, at: 1_700_000_000_000 + index })),
    state: { persona: { lines: 2 } },
  };
}

let runId = 0;
/** Each backend, opened on a fresh place so tests do not see each other's keys. */
const backends: Record<string, () => string> = {
  memory: () => 'memory://',
  file: () => `file://history-${++runId}.json`,
  sqlite: () => `sqlite://history-${++runId}.sqlite`,
  redis: () => `${redis.url.replace(/\/\d*$/, '')}/${++runId % 16}`,
};

describe.each(Object.keys(backends))('%s store', (backend) => {
  test('saves, loads and deletes a conversation', async () => {
    const store = await openHistoryStore(backends[backend](), dir);
    try {
      const key = `test:${backend}:round-trip`;
      expect(await store.load(key)).toBeUndefined();
      const saved = conversation(key, ['hi', 'hello there']);
      await store.save(saved);
      const loaded = await store.load(key);
      expect(loaded).toEqual(saved);
      expect(loaded).not.toBe(saved);
      await store.save(conversation(key, ['hi', 'hello there', 'how high are you?']));
      expect((await store.load(key))!.history).toHaveLength(3);
      await store.delete(key);
      expect(await store.load(key)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test('50 concurrent saves and loads on distinct keys do not cross-contaminate', async () => {
    const store = await openHistoryStore(backends[backend](), dir);
    try {
      const keys = Array.from({ length: 50 }, (_, index) => `discord:channel-${index}`);
      await Promise.all(keys.map((key, index) => store.save(conversation(key, [`message ${index}`, `reply ${index}`]))));
      const loaded = await Promise.all(keys.map(async (key, index) => {
        // Interleave a second write of half the keys with the reads.
        if (index % 2 === 0) await store.save(conversation(key, [`message ${index}`, `reply ${index}`, `again ${index}`]));
        return store.load(key);
      }));
      loaded.forEach((value, index) => {
        expect(value!.key).toBe(keys[index]);
        const texts = value!.history.map((turn) => turn.text);
        expect(texts).toEqual(index % 2 === 0 ? [`message ${index}`, `reply ${index}`, `again ${index}`] : [`message ${index}`, `reply ${index}`]);
      });
    } finally {
      await store.close();
    }
  });

  test('claims an id once until it expires', async () => {
    const store = await openHistoryStore(backends[backend](), dir);
    try {
      const id = `slack:event:${backend}-${runId}`;
      expect(await store.claim(id, 60_000)).toBe(true);
      expect(await store.claim(id, 60_000)).toBe(false);
      expect(await store.claim(`${id}-other`, 60_000)).toBe(true);
      // A claim whose time is up can be taken again.
      expect(await store.claim(`${id}-short`, 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.claim(`${id}-short`, 60_000)).toBe(true);
    } finally {
      await store.close();
    }
  });

  test('is unusable once closed', async () => {
    const store = await openHistoryStore(backends[backend](), dir);
    await store.close();
    await expect(store.load('x')).rejects.toThrow('history store is closed');
  });
});

describe('file and sqlite stores', () => {
  test('persist across close and reopen in one SQLite database; file://X.json keeps it at X.sqlite', async () => {
    const url = 'file://nested/persist.json';
    let store: HistoryStore = await openHistoryStore(url, dir);
    await store.save(conversation('web:alice', ['first', 'second']));
    await store.save(conversation('web:bob', ['third']));
    await store.delete('web:bob');
    await store.close();

    const db = new Database(join(dir, 'nested/persist.sqlite'), { readonly: true });
    expect(db.prepare('SELECT key FROM conversations').all()).toEqual([{ key: 'web:alice' }]);
    db.close();

    store = await openHistoryStore(url, dir);
    try {
      expect(await store.load('web:alice')).toEqual(conversation('web:alice', ['first', 'second']));
      expect(await store.load('web:bob')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test('close lets saves under way finish', async () => {
    const url = `sqlite://${join(dir, 'absolute.sqlite')}`;
    let store = await openHistoryStore(url, '/nonexistent-base');
    const pending = [store.save(conversation('a', ['1'])), store.save(conversation('b', ['2']))];
    await store.close();
    await Promise.all(pending);
    store = await openHistoryStore(url, '/nonexistent-base');
    try {
      expect((await store.load('a'))?.history[0].text).toBe('1');
      expect((await store.load('b'))?.history[0].text).toBe('2');
    } finally {
      await store.close();
    }
  });

  test('file:// imports the JSON history an older banter wrote (keyv-file) once, and leaves the file alone', async () => {
    const saved = conversation('discord:42', ['from the old store', 'still here']);
    const json = JSON.stringify({ cache: [['banter:discord:42', { value: JSON.stringify({ value: saved }) }], ['other:x', { value: '{}' }]], lastExpire: 0 });
    await writeFile(join(dir, 'legacy.json'), json);
    let store = await openHistoryStore('file://legacy.json', dir);
    expect(await store.load('discord:42')).toEqual(saved);
    await store.save(conversation('discord:42', ['changed after the import']));
    await store.close();
    // Reopened: the import is not repeated over the newer state.
    store = await openHistoryStore('file://legacy.json', dir);
    try {
      expect((await store.load('discord:42'))?.history.map((t) => t.text)).toEqual(['changed after the import']);
    } finally {
      await store.close();
    }
    expect(await readFile(join(dir, 'legacy.json'), 'utf8')).toBe(json);
  });

  test('refuses an old JSON history that does not parse instead of starting empty', async () => {
    await writeFile(join(dir, 'corrupt.json'), '{"cache": [');
    await expect(openHistoryStore('file://corrupt.json', dir)).rejects.toThrow(`history file ${join(dir, 'corrupt.json')} is not valid JSON`);
    expect(await readFile(join(dir, 'corrupt.json'), 'utf8')).toBe('{"cache": [');
  });

  test('a file that is not a SQLite database is refused with its path', async () => {
    await writeFile(join(dir, 'not-a-db.sqlite'), 'hello, I am text');
    await expect(openHistoryStore('sqlite://not-a-db.sqlite', dir)).rejects.toThrow(`cannot open the history database ${join(dir, 'not-a-db.sqlite')}`);
  });
});

describe('redis store', () => {
  test('keys live under banter: in the chosen database', async () => {
    const url = `${redis.url.replace(/\/\d*$/, '')}/3`;
    const store = await openHistoryStore(url, dir);
    const client = createClient({ url });
    await client.connect();
    try {
      await store.save(conversation('slack:C1:17.5', ['namespaced']));
      expect(await client.exists('banter:slack:C1:17.5')).toBe(1);
      const raw = await client.get('banter:slack:C1:17.5');
      expect(raw).toContain('namespaced');
      await store.delete('slack:C1:17.5');
      expect(await client.exists('banter:slack:C1:17.5')).toBe(0);
    } finally {
      await client.quit();
      await store.close();
    }
  });

  test('persists across close and reopen', async () => {
    const url = `${redis.url.replace(/\/\d*$/, '')}/4`;
    const first = await openHistoryStore(url, dir);
    await first.save(conversation('discord:9', ['remember me']));
    await first.close();
    const second = await openHistoryStore(url, dir);
    try {
      expect((await second.load('discord:9'))?.history[0].text).toBe('remember me');
    } finally {
      await second.close();
    }
  });

  test('an unreachable server fails at open, without the password', async () => {
    const closedPort = await import('node:net').then(({ createServer }) => new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    }));
    const error = await openHistoryStore(`redis://user:hunter2@127.0.0.1:${closedPort}/0`, dir).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.message).toMatch(new RegExp(`^cannot connect to the history store redis://user:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}/0: `));
    expect(error?.message).toContain('ECONNREFUSED');
    expect(error?.message).not.toContain('hunter2');
  });
});

test('an unknown scheme is a config error on /history/store', async () => {
  const error = await openHistoryStore('mongodb://localhost/x', dir, 'bot.yaml').then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).message).toBe(
    'bot.yaml: /history/store: expected memory://, sqlite://PATH, file://PATH or redis://HOST:PORT[/DB], got "mongodb://localhost/x"',
  );
});
