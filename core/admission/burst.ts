/**
 * The `debounce` policy's bursts: people type in bursts ("hi" / "quick question" / "what is X?"),
 * and answering each line would be three turns of which two are stale. A burst gathers one user's
 * messages in one conversation until `windowMs` pass without a new one (or it holds
 * `maxMessages`, or one more would make the text longer than `maxLength`); its turn answers them
 * all at once, through the first (the one that opened the burst). A burst that has closed takes nothing more: the next message starts a new one.
 */
export interface BurstLimits {
  windowMs: number;
  maxMessages: number;
  /** The messages' texts together (joined by newlines) stay within this many characters. */
  maxLength: number;
}

export class Burst<Entry extends { text: string }> {
  private readonly entries: Entry[];
  private length: number;
  private lastAt: number;
  private closed = false;
  /** Ends the wait of `close` early (the burst filled up or was sealed). */
  private wake?: () => void;

  constructor(
    first: Entry,
    private readonly limits: BurstLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = [first];
    this.length = first.text.length;
    this.lastAt = now();
  }

  /** Adds a message if the burst still takes one; false: it must make its own turn. */
  offer(entry: Entry): boolean {
    const length = this.length + 1 + entry.text.length;
    if (this.closed || this.entries.length >= this.limits.maxMessages || length > this.limits.maxLength) return false;
    this.entries.push(entry);
    this.length = length;
    this.lastAt = this.now();
    if (this.entries.length >= this.limits.maxMessages) this.wake?.();
    return true;
  }

  /** Takes nothing more (a command came: it must not be merged, nor overtake this burst). */
  seal(): void {
    this.closed = true;
    this.wake?.();
  }

  /** Waits until the burst is quiet for `windowMs` (or full, or sealed), closes it and gives its messages in the order they came. */
  async close(): Promise<Entry[]> {
    for (;;) {
      const left = this.lastAt + this.limits.windowMs - this.now();
      if (this.closed || left <= 0 || this.entries.length >= this.limits.maxMessages) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.closed = true;
    return [...this.entries];
  }
}
