/**
 * Where admission keeps its counts: in this process by default, or shared by every worker (Redis)
 * so that queue caps and rate limits hold across processes. Every operation is atomic per key.
 */
export interface AdmissionState {
  /**
   * Adds `delta` to counter `key` and returns its new value. The key expires `ttlMs` after its last
   * change, so counts held by a process that died do not stay forever.
   */
  add(key: string, delta: number, ttlMs: number): Promise<number>;
  /** Takes one token from bucket `key` (holds at most `capacity`, refills `perSecond`): true if one was there. */
  take(key: string, capacity: number, perSecond: number): Promise<boolean>;
}

/** One process's counts. */
export class MemoryAdmissionState implements AdmissionState {
  private readonly counters = new Map<string, { value: number; expires: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async add(key: string, delta: number, ttlMs: number): Promise<number> {
    const now = this.now();
    const held = this.counters.get(key);
    const value = (held && held.expires > now ? held.value : 0) + delta;
    if (value <= 0) this.counters.delete(key);
    else this.counters.set(key, { value, expires: now + ttlMs });
    return Math.max(0, value);
  }

  async take(key: string, capacity: number, perSecond: number): Promise<boolean> {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    const tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    const taken = tokens >= 1;
    this.buckets.set(key, { tokens: taken ? tokens - 1 : tokens, at: now });
    return taken;
  }
}
