/**
 * Conversation storage behind one small interface: `memory://`, `sqlite://PATH` (an embedded
 * SQLite database, durable across kill -9 and power loss), `file://PATH` (the same database; an
 * old JSON history file at PATH is imported once) and `redis://HOST:PORT[/DB]`.
 */
import { ConfigError } from '../config/errors.js';
import { redactUrl } from './common.js';
import type { WriteFence } from '../coordination/types.js';
import type { Conversation } from '../types.js';
import { MemoryHistoryStore } from './memory-store.js';
import { openRedisStore } from './redis-store.js';
import { openFileStore, openSqliteStore } from './sqlite-store.js';

export interface HistoryStore {
  load(key: string): Promise<Conversation | undefined>;
  /** Resolves once the conversation is durable: on disk (SQLite) or acknowledged by the server (Redis). */
  save(conversation: Conversation): Promise<void>;
  /**
   * Saves only while `fence.token` is still the conversation's latest lock token, checked and
   * written in one step on the server (stores on the coordination server: Redis). False: refused.
   */
  saveFenced?(conversation: Conversation, fence: WriteFence): Promise<boolean>;
  delete(key: string): Promise<void>;
  /**
   * Records `id` for `ttlMs`: true the first time, false while it is still recorded. Adapters use
   * it to answer a platform's re-sent event once, across restarts and processes sharing the store.
   */
  claim(id: string, ttlMs: number): Promise<boolean>;
  /** Writes what is pending and releases the connection; the store is unusable afterwards. */
  close(): Promise<void>;
}

export { HISTORY_NAMESPACE, redactUrl } from './common.js';
export const SUPPORTED_STORES = 'memory://, sqlite://PATH, file://PATH or redis://HOST:PORT[/DB]';
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** The scheme of a store URL when banter supports it, else undefined. */
export function historyScheme(url: string): 'memory' | 'sqlite' | 'file' | 'redis' | undefined {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'rediss') return 'redis';
  return scheme === 'memory' || scheme === 'sqlite' || scheme === 'file' || scheme === 'redis' ? scheme : undefined;
}

/**
 * Opens the store a history URL names. File paths are relative to `baseDir` (the config's folder).
 * Redis is connected before this returns, so a wrong address fails at start. `configFile` labels
 * the error for an unknown scheme.
 */
export async function openHistoryStore(url: string, baseDir: string, configFile = 'config'): Promise<HistoryStore> {
  switch (historyScheme(url)) {
    case 'memory':
      return new MemoryHistoryStore();
    case 'sqlite':
      return openSqliteStore(url.slice('sqlite://'.length), baseDir);
    case 'file':
      return openFileStore(url.slice('file://'.length), baseDir);
    case 'redis':
      return openRedisStore(url);
    default:
      throw new ConfigError({ file: configFile, path: '/history/store', expected: SUPPORTED_STORES, got: JSON.stringify(redactUrl(url)) });
  }
}
