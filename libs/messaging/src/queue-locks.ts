// One reader of new messages per (group or broadcast member, topic, queue) at a time: two receives
// reading at once would hand out the same offsets. A lock is a promise chain; an idle key holds nothing.
export class QueueLocks {
  private readonly locks = new Map<string, Promise<void>>();

  async with(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.locks.get(key);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Uncontended (the usual case): no chain, no wait.
    const mine = previous === undefined ? held : previous.then(() => held);
    this.locks.set(key, mine);
    if (previous !== undefined) await previous;
    try {
      await fn();
    } finally {
      release();
      if (this.locks.get(key) === mine) this.locks.delete(key);
    }
  }
}
