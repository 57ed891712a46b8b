/**
 * Conversation storage behind one small interface, on keyv: `memory://`, `file://PATH.json`
 * (keyv-file), `redis://HOST:PORT[/DB]` (@keyv/redis). Keys live under the `banter:` namespace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Keyv } from 'keyv';
import { KeyvFile } from 'keyv-file';
import KeyvRedis, { createKeyv } from '@keyv/redis';
import type { Conversation } from '../types.js';
import { ConfigError } from '../config/errors.js';

export interface HistoryStore {
  load(key: string): Promise<Conversation | undefined>;
  save(conversation: Conversation): Promise<void>;
  delete(key: string): Promise<void>;
  /** Writes what is pending and releases the connection; the store is unusable afterwards. */
  close(): Promise<void>;
}

export const HISTORY_NAMESPACE = 'banter';
const SUPPORTED = 'memory://, file://PATH.json or redis://HOST:PORT[/DB]';
/** keyv-file batches writes for this long; short, because a turn may wait on its save. */
const FILE_WRITE_DELAY_MS = 20;
const REDIS_CONNECT_TIMEOUT_MS = 5000;
const REDIS_START_ATTEMPTS = 3;

/**
 * Opens the store a history URL names. `file://` paths are relative to `baseDir` (the config's
 * folder). Redis is connected before this returns, so a wrong address fails at start.
 * `configFile` only labels the error for an unknown scheme.
 */
export async function openHistoryStore(url: string, baseDir: string, configFile = 'config'): Promise<HistoryStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory') return new KeyvHistoryStore(new Keyv({ namespace: HISTORY_NAMESPACE, throwOnErrors: true }));
  if (scheme === 'file') return openFileStore(url.slice('file://'.length), baseDir);
  if (scheme === 'redis' || scheme === 'rediss') return openRedisStore(url);
  throw new ConfigError({ file: configFile, path: '/history/store', expected: SUPPORTED, got: JSON.stringify(redact(url)) });
}

function openFileStore(path: string, baseDir: string): HistoryStore {
  if (!path) throw new Error(`history store file://: expected a file path after file://, e.g. file://.banter/history.json`);
  const filename = isAbsolute(path) ? path : resolve(baseDir, path);
  // keyv-file starts empty on a file it cannot parse and overwrites it on the next save: refuse instead.
  if (existsSync(filename)) {
    try {
      JSON.parse(readFileSync(filename, 'utf8'));
    } catch (error) {
      throw new Error(`history file ${filename} is not valid JSON (${(error as Error).message}); move it away or fix it`, { cause: error });
    }
  }
  const file = new KeyvFile({ filename, writeDelay: FILE_WRITE_DELAY_MS });
  const keyv = new Keyv({ store: file, namespace: HISTORY_NAMESPACE, throwOnErrors: true });
  return new KeyvHistoryStore(keyv, () => flushFile(file));
}

/**
 * keyv-file shares one delayed write among the sets that arrive before it starts; a set made while
 * a write is in progress joins that write without being in it. So: wait for the write in
 * progress, let it clear, then write once more with everything.
 */
async function flushFile(file: KeyvFile): Promise<void> {
  await file.deleteMany([]);
  await new Promise((done) => setImmediate(done));
  await file.deleteMany([]);
}

async function openRedisStore(url: string): Promise<HistoryStore> {
  let connected = false;
  const keyv = createKeyv(
    {
      url,
      socket: {
        // A server that is not there at start is a config mistake: fail fast. Once connected, ride out restarts.
        reconnectStrategy: (retries: number, cause: Error) => (!connected && retries >= REDIS_START_ATTEMPTS ? cause : Math.min(2 ** retries * 100, 2000)),
      },
    },
    { namespace: HISTORY_NAMESPACE, keyPrefixSeparator: ':', throwOnErrors: true, connectionTimeout: REDIS_CONNECT_TIMEOUT_MS },
  );
  const adapter = keyv.store as KeyvRedis<unknown>;
  // The adapter replaces the socket's error with a generic one; keep the socket's for the message.
  let socketError: Error | undefined;
  const remember = (error: Error) => (socketError = error);
  adapter.on('error', remember);
  try {
    await adapter.getClient();
  } catch (error) {
    const reason = socketError?.message || (error as Error).message;
    throw new Error(`cannot connect to the history store ${redact(url)}: ${reason}`, { cause: socketError ?? error });
  } finally {
    adapter.off('error', remember);
  }
  connected = true;
  return new KeyvHistoryStore(keyv);
}

/** Hides a password in a store URL before it reaches a message. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

class KeyvHistoryStore implements HistoryStore {
  private closed = false;
  /** Operations under way, so that close() lets them finish before the final write. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly keyv: Keyv<Conversation>,
    private readonly beforeDisconnect: () => Promise<void> = async () => {},
  ) {}

  async load(key: string): Promise<Conversation | undefined> {
    const value = await this.track(this.keyv.get(key));
    if (value === undefined) return undefined;
    if (!isConversation(value, key)) throw new Error(`history store: the value stored under "${key}" is not a conversation`);
    return value;
  }

  async save(conversation: Conversation): Promise<void> {
    await this.track(this.keyv.set(conversation.key, conversation));
  }

  async delete(key: string): Promise<void> {
    await this.track(this.keyv.delete(key));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.inFlight);
    await this.beforeDisconnect();
    await this.keyv.disconnect();
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('history store is closed'));
    this.inFlight.add(operation);
    const forget = () => this.inFlight.delete(operation);
    operation.then(forget, forget);
    return operation;
  }
}

function isConversation(value: unknown, key: string): value is Conversation {
  const candidate = value as Partial<Conversation> | null;
  return typeof candidate === 'object' && candidate !== null && candidate.key === key && Array.isArray(candidate.history) && typeof candidate.preset === 'string';
}
