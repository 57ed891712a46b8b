/** `memory://`: feedback in this process only (lost on restart); values are copied in and out. */
import { randomBytes } from 'node:crypto';
import { InFlight } from '../history/common.js';
import { feedbackId, type FeedbackStore } from './store.js';
import type { FeedbackEntry, TurnRecord } from './types.js';

interface Kept<T> {
  value: T;
  expiresAt: number;
}

export class MemoryFeedbackStore implements FeedbackStore {
  private readonly turns = new Map<string, Kept<TurnRecord>>();
  private readonly entries = new Map<string, Kept<FeedbackEntry>>();
  private readonly key = randomBytes(32).toString('base64url');
  private readonly inFlight = new InFlight();

  putTurn(record: TurnRecord, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => put(this.turns, record.turnId, record, ttlMs));
  }

  turn(turnId: string): Promise<TurnRecord | undefined> {
    return this.inFlight.run(async () => get(this.turns, turnId));
  }

  putFeedback(entry: FeedbackEntry, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => put(this.entries, feedbackId(entry.turnId, entry.user), entry, ttlMs));
  }

  feedback(): Promise<FeedbackEntry[]> {
    return this.inFlight.run(async () => {
      const now = Date.now();
      return [...this.entries.values()].filter((kept) => kept.expiresAt > now).map((kept) => structuredClone(kept.value)).sort((a, b) => a.at - b.at);
    });
  }

  secret(): Promise<string> {
    return this.inFlight.run(async () => this.key);
  }

  async close(): Promise<void> {
    await this.inFlight.close();
  }
}

function put<T>(map: Map<string, Kept<T>>, id: string, value: T, ttlMs: number): void {
  const now = Date.now();
  for (const [other, kept] of map) if (kept.expiresAt <= now) map.delete(other);
  map.set(id, { value: structuredClone(value), expiresAt: now + ttlMs });
}

function get<T>(map: Map<string, Kept<T>>, id: string): T | undefined {
  const kept = map.get(id);
  return kept && kept.expiresAt > Date.now() ? structuredClone(kept.value) : undefined;
}
