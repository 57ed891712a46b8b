/**
 * Typing indicators per channel. A platform shows "typing" for a few seconds (Discord: about ten),
 * so it is renewed every `intervalMs` until the last reply pending in that channel has been sent;
 * several pending replies in one channel share one indicator instead of each sending their own.
 * A message shows typing from the moment the bot accepts it, while it waits behind other turns of
 * its conversation too (`forMessage` with `HandleOptions.onAccepted`), not only while generating.
 */
export interface TypingTarget {
  id: string;
  sendTyping(): Promise<void>;
}

export class TypingIndicators {
  private readonly active = new Map<string, { holders: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly intervalMs: number,
    private readonly onError: (error: unknown, channelId: string) => void,
  ) {}

  /** Shows typing in the channel until the returned function is called. */
  hold(channel: TypingTarget): () => void {
    const current = this.active.get(channel.id);
    if (current) current.holders++;
    else {
      this.ping(channel);
      const timer = setInterval(() => this.ping(channel), this.intervalMs);
      this.active.set(channel.id, { holders: 1, timer });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const entry = this.active.get(channel.id);
      if (entry && --entry.holders === 0) {
        clearInterval(entry.timer);
        this.active.delete(channel.id);
      }
    };
  }

  /**
   * Typing for one message: pass `onAccepted` to `bot.handle` (typing starts when the bot accepts the
   * message, before it waits for its turn; a refused message shows none) and call `release` once
   * `handle` settles.
   */
  forMessage(channel: TypingTarget): { onAccepted: () => void; release: () => void } {
    let release: (() => void) | undefined;
    return {
      onAccepted: () => {
        release ??= this.hold(channel);
      },
      release: () => release?.(),
    };
  }

  clear(): void {
    for (const { timer } of this.active.values()) clearInterval(timer);
    this.active.clear();
  }

  private ping(channel: TypingTarget): void {
    // A failed typing ping is cosmetic: log it, the reply still goes out.
    channel.sendTyping().catch((error: unknown) => this.onError(error, channel.id));
  }
}
