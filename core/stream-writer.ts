/**
 * For adapters whose platform shows a streamed reply by posting a message and then editing it
 * (Discord, Slack): a ReplyStream that keeps within the platform's edit limits. The first text is
 * posted at once; each later one replaces it no sooner than `intervalMs` after the previous write
 * finished, one write at a time, and only the newest text waiting is written (the ones in between
 * are skipped). A failed write is reported and ends the streaming: the finished reply is still
 * delivered by the adapter (`finish`).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplyStream } from './types.js';

export interface StreamTarget<Handle> {
  /** Shows the first text; resolves to what later edits need (a message, its timestamp). */
  post(text: string): Promise<Handle>;
  /** Replaces what `post` showed. */
  edit(handle: Handle, text: string): Promise<void>;
}

export class ThrottledWriter<Handle> implements ReplyStream {
  private handle?: Handle;
  private waiting?: string;
  private running?: Promise<void>;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly target: StreamTarget<Handle>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  update(text: string): void {
    if (this.stopped) return;
    this.waiting = text;
    this.drain();
  }

  /**
   * Ends the streaming: what is waiting is dropped, the write under way finishes. Resolves to the
   * posted message (undefined when nothing was posted), which the finished reply should replace,
   * once an edit is allowed again.
   */
  async close(): Promise<Handle | undefined> {
    this.stopped = true;
    this.waiting = undefined;
    while (this.running) await this.running;
    if (this.handle !== undefined) await this.turn();
    return this.handle;
  }

  /** Records a write the adapter made itself (the finished reply's edit), so that a later one keeps the interval too. */
  wrote(): void {
    this.lastWrite = performance.now();
  }

  private drain(): void {
    if (this.running) return;
    this.running = (async () => {
      while (this.waiting !== undefined && !this.stopped) {
        if (this.handle !== undefined) await this.turn();
        // Taken after the wait: the newest text by then is the one written.
        const text = this.waiting;
        this.waiting = undefined;
        if (text === undefined || this.stopped) break;
        try {
          if (this.handle === undefined) this.handle = await this.target.post(text);
          else await this.target.edit(this.handle, text);
        } catch (error) {
          this.stopped = true;
          this.onError(error);
        }
        this.wrote();
      }
    })().finally(() => {
      this.running = undefined;
    });
  }

  /** Waits until `intervalMs` have passed since the last write finished. */
  private async turn(): Promise<void> {
    for (let left = this.lastWrite + this.intervalMs - performance.now(); left > 0; left = this.lastWrite + this.intervalMs - performance.now()) {
      await sleep(Math.ceil(left));
    }
  }
}
