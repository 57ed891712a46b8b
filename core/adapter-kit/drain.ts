/**
 * The answers an adapter has underway, so that `stop()` can stop taking messages and still let the
 * replies already being written go out before it disconnects.
 */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();

  /** How many are underway. */
  get size(): number {
    return this.work.size;
  }

  /** Remembers `work` until it settles and returns it unchanged (the caller still sees its outcome). */
  track<T>(work: Promise<T>): Promise<T> {
    this.work.add(work);
    const forget = () => this.work.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Like `track`, for work nobody awaits: a failure is handed to `onError` (logged) instead of left unhandled. */
  run(work: Promise<unknown>, onError: (error: unknown) => void): void {
    this.track(work).catch(onError);
  }

  /** Resolves once everything underway (and whatever starts meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }
}
