// One reader of new messages per (group or broadcast member, topic, queue) at a time: two receives
// reading at once would hand out the same offsets. A lock is a promise chain; an idle key holds nothing.
export class QueueLocks {
  private readonly locks = new Map<string, Promise<void>>();

  async with(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.locks.set(key, mine);
    await previous;
    try {
      await fn();
    } finally {
      release();
      if (this.locks.get(key) === mine) this.locks.delete(key);
    }
  }
}
