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

/** Operations between two sweeps of expired counters and refilled buckets. */
const SWEEP_EVERY = 1_000;

/** One process's counts. Memory stays bounded: expired counters and full buckets are swept away. */
export class MemoryAdmissionState implements AdmissionState {
  private readonly counters = new Map<string, { value: number; expires: number }>();
  private readonly buckets = new Map<string, { tokens: number; at: number; full: number }>();
  private operations = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async add(key: string, delta: number, ttlMs: number): Promise<number> {
    const now = this.tick();
    const held = this.counters.get(key);
    const value = (held && held.expires > now ? held.value : 0) + delta;
    if (value <= 0) this.counters.delete(key);
    else this.counters.set(key, { value, expires: now + ttlMs });
    return Math.max(0, value);
  }

  async take(key: string, capacity: number, perSecond: number): Promise<boolean> {
    const now = this.tick();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now, full: now };
    const tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    const taken = tokens >= 1;
    const left = taken ? tokens - 1 : tokens;
    // A bucket that has refilled is the same as no bucket: it can go.
    this.buckets.set(key, { tokens: left, at: now, full: now + ((capacity - left) / perSecond) * 1000 });
    return taken;
  }

  /** Keys held now (counters and buckets), for tests of boundedness. */
  get size(): number {
    return this.counters.size + this.buckets.size;
  }

  private tick(): number {
    const now = this.now();
    if (++this.operations % SWEEP_EVERY === 0) {
      for (const [key, counter] of this.counters) if (counter.expires <= now) this.counters.delete(key);
      for (const [key, bucket] of this.buckets) if (bucket.full <= now) this.buckets.delete(key);
    }
    return now;
  }
}
