import { latencyProbe } from '@rmq/base';

// Long polls waiting for something to happen on a topic (a message confirmed, a delivery made
// visible sooner, a FIFO message released). Each wake is counted, so a receive that was busy
// looking while a wake happened knows to look again instead of sleeping through it.
export class TopicWakeups {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly wakes = new Map<string, number>();
  /** Debug only (latency probe): when each topic was last woken. */
  readonly lastWakeAtMs = new Map<string, number>();

  /** How many wakes the topic has had (compare two readings; it wraps around). */
  count(topic: string): number {
    return this.wakes.get(topic) ?? 0;
  }

  /** Resolves at the next wake of the topic, after `timeoutMs`, or when `signal` aborts. */
  wait(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const topicWaiters = this.waiters.get(topic) ?? new Set();
      this.waiters.set(topic, topicWaiters);
      const done = () => {
        topicWaiters.delete(done);
        if (topicWaiters.size === 0 && this.waiters.get(topic) === topicWaiters) this.waiters.delete(topic);
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      topicWaiters.add(done);
    });
  }

  wake(topic: string): void {
    if (latencyProbe.enabled) this.lastWakeAtMs.set(topic, performance.now());
    this.wakes.set(topic, (this.count(topic) + 1) % Number.MAX_SAFE_INTEGER);
    for (const wake of [...(this.waiters.get(topic) ?? [])]) wake();
  }

  /** Ends every wait (at shutdown). */
  wakeAll(): void {
    for (const topicWaiters of [...this.waiters.values()]) for (const wake of [...topicWaiters]) wake();
  }
}
