/** Concurrency primitives of the core: turns in one conversation never interleave; engine work is capped. */

/** Runs tasks one at a time per key, in arrival order; different keys run concurrently. */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // A failed task must not block the conversation: the next one starts after it either way.
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Conversations with work queued or running. */
  get activeKeys(): number {
    return this.tails.size;
  }
}

/** A counting semaphore: at most `limit` holders at once, served first come first served (`urgent` waiters before the rest). */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Semaphore limit must be a positive integer, got ${limit}`);
  }

  private urgentWaiting = 0;

  async use<T>(task: () => Promise<T>, options: { urgent?: boolean } = {}): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => {
        if (!options.urgent) return this.waiting.push(resolve);
        // Behind earlier urgent waiters, ahead of every other.
        this.waiting.splice(this.urgentWaiting++, 0, () => {
          this.urgentWaiting--;
          resolve();
        });
      });
    } else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    }
  }
}
