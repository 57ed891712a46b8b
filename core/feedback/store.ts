/**
 * The feedback store, chosen by URL like the history store: `memory://`, `sqlite://PATH`,
 * `file://PATH` (the same SQLite database; `x.json` becomes `x.sqlite`, as for history) and
 * `redis://HOST:PORT[/DB]`. It keeps each rateable turn's trace for as long as the turn can be
 * rated, and each rating (with a copy of that trace) for the retention period.
 */
import { ConfigError } from '../config/errors.js';
import { historyScheme, redactUrl, SUPPORTED_STORES } from '../history/store.js';
import { MemoryFeedbackStore } from './memory-store.js';
import { openRedisFeedbackStore } from './redis-store.js';
import { openSqliteFeedbackStore } from './sqlite-store.js';
import type { FeedbackEntry, TurnRecord } from './types.js';

export interface FeedbackStore {
  /** Keeps a turn's trace for `ttlMs`, so that it can be rated meanwhile. */
  putTurn(record: TurnRecord, ttlMs: number): Promise<void>;
  turn(turnId: string): Promise<TurnRecord | undefined>;
  /** Stores a rating for `ttlMs`; one per (turn, user): a later one replaces it. */
  putFeedback(entry: FeedbackEntry, ttlMs: number): Promise<void>;
  /** Every rating still kept, oldest first. */
  feedback(): Promise<FeedbackEntry[]>;
  /** A random key made once per store (the pseudonyms' HMAC key), the same for every process sharing it. */
  secret(): Promise<string>;
  close(): Promise<void>;
}

export function feedbackId(turnId: string, user: string): string {
  return `${turnId}|${user}`;
}

/** Opens the store a feedback URL names; file paths are relative to `baseDir` (the config's folder). */
export async function openFeedbackStore(url: string, baseDir: string, configFile = 'config'): Promise<FeedbackStore> {
  const scheme = historyScheme(url);
  switch (scheme) {
    case 'memory':
      return new MemoryFeedbackStore();
    case 'sqlite':
    case 'file':
      return openSqliteFeedbackStore(url.slice(`${scheme}://`.length), baseDir, scheme);
    case 'redis':
      return openRedisFeedbackStore(url);
    default:
      throw new ConfigError({ file: configFile, path: '/feedback/store', expected: SUPPORTED_STORES, got: JSON.stringify(redactUrl(url)) });
  }
}
