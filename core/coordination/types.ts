/**
 * Coordination between workers that serve one bot: which process runs a conversation's turn now,
 * where admission counts, and which platform events were already taken. One process needs none of
 * it (core/queue.ts and the in-memory admission state do the job); several workers share a Redis.
 */
import type { AdmissionState } from '../admission/index.js';

/** The `coordination` section of the bot config. */
export interface CoordinationConfig {
  /** Redis URL shared by every worker; unset: `history.store` when it is Redis, else none (one process). */
  url?: string;
  /** How long a turn's lock lives without renewal: a worker killed mid-turn frees its conversations after this. */
  leaseMs: number;
  /** Longest wait for a conversation another worker is answering; then the message gets the busy reply. */
  lockWaitMs: number;
}


/**
 * A conversation's lock, held by this process while one turn runs and renewed in the background.
 * `token` grows with every acquisition (a fencing token): a history write made with an older
 * token than the conversation's latest is refused, so a worker that stalled past its lease and lost
 * the lock to another cannot overwrite what the other wrote.
 */
export interface TurnLock {
  readonly key: string;
  readonly token: number;
  /** Whether `token` is still the conversation's latest: the fence, checked on the server. */
  current(): Promise<boolean>;
  /** Stops the renewal and frees the lock if it is still ours. */
  release(): Promise<void>;
}

/** The fencing key and token a fenced history write checks, atomically, on the same server. */
export interface WriteFence {
  fenceKey: string;
  token: number;
}

export interface Coordination {
  /** The server's URL (the history store on the same URL can fence its writes atomically). */
  readonly url: string;
  readonly admission: AdmissionState;
  /** Waits (at most `lockWaitMs`) for conversation `key`'s lock; throws LockWaitError past that. */
  lock(key: string): Promise<TurnLock>;
  /** The fence a write for `lock` carries. */
  fence(lock: TurnLock): WriteFence;
  /** True the first time `id` is claimed within `ttlMs`, across every worker (SET NX PX). */
  claim(id: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Another worker held the conversation longer than `lockWaitMs`. */
export class LockWaitError extends Error {
  constructor(key: string, waitedMs: number) {
    super(`conversation ${key} was still being answered by another worker after ${waitedMs} ms`);
    this.name = 'LockWaitError';
  }
}

/** A history write refused because another worker took the conversation's lock since this turn began. */
export class FencedWriteError extends Error {
  constructor(key: string, token: number) {
    super(`the lock of conversation ${key} (token ${token}) was lost to another worker: the write is refused`);
    this.name = 'FencedWriteError';
  }
}
