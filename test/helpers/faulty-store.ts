/**
 * A real history store (memory, or any other opened one) with faults switched on by the test: the
 * next N saves or loads fail the way a broken disk does. For the tests of what the bot and the
 * adapters do when the store fails; the store itself is tested on its own in test/history.
 */
import { openHistoryStore, type HistoryStore } from '../../core/history/store.js';
import type { Conversation } from '../../core/types.js';

/** What a save into a removed folder says: a server path that must never reach a user. */
export const STORE_FAULT = "EISDIR: illegal operation on a directory, open '/srv/banter/history.json'";

export class FaultyStore implements HistoryStore {
  /** Saves still to fail; Infinity fails them all. */
  failSaves = 0;
  failLoads = 0;
  saveAttempts = 0;

  private constructor(private readonly inner: HistoryStore) {}

  static async open(url = 'memory://', baseDir = process.cwd()): Promise<FaultyStore> {
    return new FaultyStore(await openHistoryStore(url, baseDir));
  }

  async load(key: string): Promise<Conversation | undefined> {
    if (this.failLoads > 0) {
      this.failLoads--;
      throw new Error(STORE_FAULT);
    }
    return this.inner.load(key);
  }

  async save(conversation: Conversation): Promise<void> {
    this.saveAttempts++;
    if (this.failSaves > 0) {
      this.failSaves--;
      throw new Error(STORE_FAULT);
    }
    return this.inner.save(conversation);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  claim(id: string, ttlMs: number): Promise<boolean> {
    return this.inner.claim(id, ttlMs);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
