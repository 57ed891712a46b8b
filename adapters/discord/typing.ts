/**
 * Typing indicators per channel. Discord shows "typing" for about ten seconds, so it is renewed
 * until the last reply pending in that channel has been sent; several pending replies in one
 * channel share one indicator instead of each sending their own.
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

  clear(): void {
    for (const { timer } of this.active.values()) clearInterval(timer);
    this.active.clear();
  }

  private ping(channel: TypingTarget): void {
    // A failed typing ping is cosmetic: log it, the reply still goes out.
    channel.sendTyping().catch((error: unknown) => this.onError(error, channel.id));
  }
}
