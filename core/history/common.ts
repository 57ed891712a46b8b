/** What the history stores share: checking what was read back, and waiting for operations on close. */
import type { Conversation } from '../types.js';

/** Prefix of conversation keys in shared stores (Redis). */
export const HISTORY_NAMESPACE = 'banter';

/** A stored value read back: it must be the conversation of that key. */
export function checkConversation(value: unknown, key: string): Conversation {
  const candidate = value as Partial<Conversation> | null;
  const ok = typeof candidate === 'object' && candidate !== null && candidate.key === key && Array.isArray(candidate.history) && typeof candidate.preset === 'string';
  if (!ok) throw new Error(`history store: the value stored under "${key}" is not a conversation`);
  return candidate as Conversation;
}

/** Remembers operations under way, so that close() lets them finish before the connection goes. */
export class InFlight {
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();

  run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('history store is closed'));
    const promise = operation();
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** False when already closed; otherwise waits for what is under way. */
  async close(): Promise<boolean> {
    if (this.closed) return false;
    this.closed = true;
    await Promise.allSettled(this.pending);
    return true;
  }
}

/** Hides a password in a store URL before it reaches a message. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}
