/**
 * `redis://HOST:PORT[/DB]`: feedback under `banter-feedback:` on the server the URL names (by
 * default the history store's), turns and ratings with Redis's own expiry, so every process
 * sharing the server sees them and nothing outlives its retention.
 */
import { randomBytes } from 'node:crypto';
import type { Keyv } from 'keyv';
import type KeyvRedis from '@keyv/redis';
import { HISTORY_NAMESPACE, InFlight } from '../history/common.js';
import { connectRedis } from '../history/redis-store.js';
import { feedbackId, type FeedbackStore } from './store.js';
import type { FeedbackEntry, TurnRecord } from './types.js';

const NAMESPACE = `${HISTORY_NAMESPACE}-feedback`;
const TURN = 'turn:';
const ENTRY = 'entry:';

export async function openRedisFeedbackStore(url: string): Promise<FeedbackStore> {
  const { keyv, adapter } = await connectRedis(url, NAMESPACE, 'feedback');
  return new RedisFeedbackStore(keyv, adapter);
}

class RedisFeedbackStore implements FeedbackStore {
  private readonly inFlight = new InFlight();

  constructor(
    private readonly keyv: Keyv<unknown>,
    private readonly adapter: KeyvRedis<unknown>,
  ) {}

  putTurn(record: TurnRecord, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => void (await this.keyv.set(`${TURN}${record.turnId}`, record, ttlMs)));
  }

  turn(turnId: string): Promise<TurnRecord | undefined> {
    return this.inFlight.run(async () => (await this.keyv.get(`${TURN}${turnId}`)) as TurnRecord | undefined);
  }

  putFeedback(entry: FeedbackEntry, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => void (await this.keyv.set(`${ENTRY}${feedbackId(entry.turnId, entry.user)}`, entry, ttlMs)));
  }

  feedback(): Promise<FeedbackEntry[]> {
    return this.inFlight.run(async () => {
      const entries: FeedbackEntry[] = [];
      // Keyv's iterator scans this namespace's keys (SCAN, not KEYS) and drops expired values.
      for await (const [key, value] of this.keyv.iterator!(NAMESPACE)) {
        if (String(key).startsWith(ENTRY) && value !== undefined) entries.push(value as FeedbackEntry);
      }
      return entries.sort((a, b) => a.at - b.at);
    });
  }

  secret(): Promise<string> {
    return this.inFlight.run(async () => {
      const client = await this.adapter.getClient();
      const key = `${NAMESPACE}-secret`;
      // SET NX: whichever process sets it first wins; every one reads that key back.
      await client.set(key, randomBytes(32).toString('base64url'), { NX: true });
      return String(await client.get(key));
    });
  }

  async close(): Promise<void> {
    if (await this.inFlight.close()) await this.keyv.disconnect();
  }
}
