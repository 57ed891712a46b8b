/**
 * Remembers recent Slack event ids. Slack re-sends an event (`x-slack-retry-num`, or a Socket
 * Mode `retry_attempt`) when it thinks the first delivery failed; the same `event_id` comes back,
 * and answering it again would post the reply twice.
 */
export class RecentIds {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True the first time an id is offered, false for repeats (within the last `capacity` ids). */
  add(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}
