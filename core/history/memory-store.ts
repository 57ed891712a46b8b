/** `memory://`: conversations in this process only (lost on restart); values are copied in and out. */
import type { Conversation } from '../types.js';
import { checkConversation, InFlight } from './common.js';
import type { HistoryStore } from './store.js';

export class MemoryHistoryStore implements HistoryStore {
  private readonly conversations = new Map<string, Conversation>();
  private readonly claims = new Map<string, number>();
  private readonly inFlight = new InFlight();

  load(key: string): Promise<Conversation | undefined> {
    return this.inFlight.run(async () => {
      const value = this.conversations.get(key);
      return value === undefined ? undefined : checkConversation(structuredClone(value), key);
    });
  }

  save(conversation: Conversation): Promise<void> {
    return this.inFlight.run(async () => void this.conversations.set(conversation.key, structuredClone(conversation)));
  }

  delete(key: string): Promise<void> {
    return this.inFlight.run(async () => void this.conversations.delete(key));
  }

  claim(id: string, ttlMs: number): Promise<boolean> {
    return this.inFlight.run(async () => {
      const now = Date.now();
      const until = this.claims.get(id);
      if (until !== undefined && until > now) return false;
      for (const [other, expiry] of this.claims) if (expiry <= now) this.claims.delete(other);
      this.claims.set(id, now + ttlMs);
      return true;
    });
  }

  async close(): Promise<void> {
    await this.inFlight.close();
  }
}
