/**
 * A turn's deadline. Until the turn settles (claims the right to deliver its result), the deadline
 * may pass: then the turn's signal aborts (its generation leaves the engine's batch) and `passed`
 * resolves, so the caller can apologise at once. After that the turn can no longer settle, so a
 * late result is never delivered or stored. Exactly one of the two ever happens.
 */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
  constructor(readonly ms: number) {
    super(`the turn passed its ${ms} ms deadline`);
  }
}

export class TurnDeadline {
  private readonly controller = new AbortController();
  private state: 'open' | 'passed' | 'settled' = 'open';
  private readonly timer?: NodeJS.Timeout;
  /** Resolves when the deadline passes before the turn settled; never otherwise. */
  readonly passed: Promise<void>;

  /** `ms` 0: no deadline (it never passes). */
  constructor(readonly ms: number) {
    let pass = () => {};
    this.passed = new Promise<void>((resolve) => (pass = resolve));
    if (ms <= 0) return;
    this.timer = setTimeout(() => {
      if (this.state !== 'open') return;
      this.state = 'passed';
      this.controller.abort(new DeadlineError(ms));
      pass();
    }, ms);
    // A pending deadline alone must not keep the process alive.
    this.timer.unref();
  }

  /** Aborted when the deadline passes: hand it to the work the turn does (generation). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get hasPassed(): boolean {
    return this.state === 'passed';
  }

  /** Claims the turn's result for delivery: true unless the deadline already passed (then the result is late: drop it). */
  settle(): boolean {
    if (this.state === 'passed') return false;
    this.state = 'settled';
    clearTimeout(this.timer);
    return true;
  }
}
