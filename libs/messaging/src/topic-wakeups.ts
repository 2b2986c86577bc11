// Long polls waiting for something to happen on a topic (a message confirmed, a delivery made
// visible sooner, a FIFO message released). Each wake is counted, so a receive that was busy
// looking while a wake happened knows to look again instead of sleeping through it.
// New records in a queue wake one waiter per owner (a consumer group, or a member of a broadcast
// group) that reads that queue, the one waiting longest: it takes every new message it may (up to
// its batch size), so waking the owner's other long polls too would only have them look, find
// nothing and wait again, and leave none waiting for the next message. A woken receive that could
// not take everything (it filled its batch) or did not look (cancelled, failed) passes the wake on
// (wakeOne). Any other wake (a delivery visible sooner, a FIFO message released) ends every wait.
import { latencyProbe } from '@rmq/base';

/** Whose long poll it is, and which queue it reads (every queue of the topic when absent). */
export interface WaiterScope {
  owner: string;
  queueId?: number;
}

interface Waiter {
  scope: WaiterScope | undefined;
  end: () => void;
}

export class TopicWakeups {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly wakes = new Map<string, number>();
  /**
   * Owners (per topic) whose waiter reading every queue was woken in the current synchronous run
   * of wakes (one commit confirms several queues at once): that receive looks at every queue after
   * it, so another of the owner's waiters need not be woken for the next queue. Cleared after it.
   */
  private burst: Map<string, Set<string>> | undefined;
  /** Debug only (latency probe): topics whose parked long polls were counted in the current synchronous run of wakes. */
  private probedTopics: Set<string> | undefined;
  /** Debug only (latency probe): topics a long poll has waited on. */
  private readonly probeWaitedTopics = new Set<string>();
  /** Debug only (latency probe): when each topic was last woken. */
  readonly lastWakeAtMs = new Map<string, number>();

  /** Waits running now, over all topics. */
  get waiting(): number {
    let count = 0;
    for (const topicWaiters of this.waiters.values()) count += topicWaiters.size;
    return count;
  }

  /** How many wakes the topic has had (compare two readings; it wraps around). */
  count(topic: string): number {
    return this.wakes.get(topic) ?? 0;
  }

  /**
   * Resolves at a wake of the topic that picks this waiter, after `timeoutMs`, or when `signal`
   * aborts. Without a scope every wake of the topic ends the wait.
   */
  wait(topic: string, timeoutMs: number, signal?: AbortSignal, scope?: WaiterScope): Promise<void> {
    if (latencyProbe.enabled) this.probeWaitedTopics.add(topic);
    return new Promise((resolve) => {
      const topicWaiters = this.waiters.get(topic) ?? new Set();
      this.waiters.set(topic, topicWaiters);
      const waiter: Waiter = {
        scope,
        end: () => {
          topicWaiters.delete(waiter);
          if (topicWaiters.size === 0 && this.waiters.get(topic) === topicWaiters) this.waiters.delete(topic);
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.end);
          resolve();
        },
      };
      const timer = setTimeout(waiter.end, timeoutMs);
      signal?.addEventListener('abort', waiter.end, { once: true });
      topicWaiters.add(waiter);
    });
  }

  /** Ends every wait on the topic. */
  wake(topic: string): void {
    this.counted(topic);
    const topicWaiters = this.waiters.get(topic);
    if (topicWaiters) for (const waiter of topicWaiters) waiter.end(); // ending deletes it: safe while iterating a Set
  }

  /** New records in `queueId`: ends the longest wait of each owner reading that queue, and every unscoped wait. */
  wakeQueue(topic: string, queueId: number): void {
    this.counted(topic);
    const topicWaiters = this.waiters.get(topic);
    if (latencyProbe.enabled) this.probeParked(topic, topicWaiters?.size ?? 0);
    if (!topicWaiters) return;
    const lookingEverywhere = this.burstOf(topic);
    let woken: Set<string> | undefined;
    for (const waiter of topicWaiters) {
      const scope = waiter.scope;
      if (scope && ((scope.queueId !== undefined && scope.queueId !== queueId) || woken?.has(scope.owner) || lookingEverywhere.has(scope.owner))) continue;
      if (scope) {
        (woken ??= new Set()).add(scope.owner);
        if (scope.queueId === undefined) lookingEverywhere.add(scope.owner);
      }
      waiter.end();
    }
  }

  private burstOf(topic: string): Set<string> {
    if (!this.burst) {
      this.burst = new Map();
      queueMicrotask(() => (this.burst = undefined)); // the woken receives resume after this
    }
    let owners = this.burst.get(topic);
    if (!owners) this.burst.set(topic, (owners = new Set()));
    return owners;
  }

  /** Ends the longest wait of `owner` on the topic that reads `queueId` (any queue when absent); true if there was one. */
  wakeOne(topic: string, owner: string, queueId?: number): boolean {
    const topicWaiters = this.waiters.get(topic);
    if (!topicWaiters) return false;
    for (const waiter of topicWaiters) {
      const scope = waiter.scope;
      if (!scope || scope.owner !== owner) continue;
      if (queueId !== undefined && scope.queueId !== undefined && scope.queueId !== queueId) continue;
      waiter.end();
      return true;
    }
    return false;
  }

  /** Ends every wait (at shutdown). */
  wakeAll(): void {
    for (const topicWaiters of [...this.waiters.values()]) for (const waiter of topicWaiters) waiter.end();
  }

  /** Debug only (latency probe): how many long polls were parked on the topic at each commit's first wake (0: the new messages wait for a receive to arrive). */
  private probeParked(topic: string, parked: number): void {
    if (!this.probeWaitedTopics.has(topic) || this.probedTopics?.has(topic)) return; // topics no receive reads (the state journal's) left out
    if (!this.probedTopics) {
      this.probedTopics = new Set();
      queueMicrotask(() => (this.probedTopics = undefined));
    }
    this.probedTopics.add(topic);
    latencyProbe.count(`commits finding ${parked} receives parked`);
  }

  private counted(topic: string): void {
    this.wakes.set(topic, (this.count(topic) + 1) % Number.MAX_SAFE_INTEGER);
    if (latencyProbe.enabled) this.lastWakeAtMs.set(topic, performance.now());
  }
}
