// The consumer service's periodic work (RocketMQ's revive): messages past their last attempt go
// to the dead-letter topic even when no consumer polls, push consumers' deliveries that are still
// being worked on get their deadlines pushed back, and broadcast members that went away are forgotten.
import { MESSAGING_LIMITS } from './limits';
import type { ProgressKey } from './consumer-progress';
import type { QueueConsumption } from './queue-consumption';
import { addWrite, progressKey, type ConsumerContext, type Writes } from './consumer-context';
import type { DeadLetters } from './dead-letters';

export class ConsumerSweep {
  private renewedCount = 0;

  constructor(
    private readonly context: ConsumerContext,
    private readonly deadLetters: DeadLetters,
  ) {}

  /** Deadlines pushed back by server-side renewal so far. */
  get renewedTotal(): number {
    return this.renewedCount;
  }

  async sweep(): Promise<void> {
    const { progress, clock } = this.context.options;
    if (!progress.writable) return; // a slave: its master sweeps, and the results are copied
    const nowMs = clock.nowMs();
    progress.expireMembers(nowMs);
    this.renew(nowMs);
    for (const { key, state } of [...progress.allStates()]) await this.sweepQueue(key, state, nowMs);
  }

  /** Pushes back the deadline of push consumers' deliveries that are still being worked on. */
  private renew(nowMs: number): void {
    const { progress } = this.context.options;
    const stateOf = (r: { group: string; member?: string; topic: string; queueId: number }) => progress.peek(progressKey(r.group, r.topic, r.queueId, r.member));
    const due = this.context.renewals.due(nowMs, (renewal) => {
      const entry = stateOf(renewal)?.current(renewal.queueOffset);
      return entry && entry.deliveryId === renewal.deliveryId ? entry.visibleAtMs : undefined;
    });
    for (const { renewal, visibleAtMs } of due) {
      const key = progressKey(renewal.group, renewal.topic, renewal.queueId, renewal.member);
      const state = progress.peek(key);
      if (state && progress.extend(key, state, renewal.queueOffset, renewal.deliveryId, visibleAtMs)) this.renewedCount++;
    }
  }

  private async sweepQueue(key: ProgressKey, state: QueueConsumption, nowMs: number): Promise<void> {
    const { groups, store, progress } = this.context.options;
    const maxAttempts = groups.settingsOf(key.g).maxAttempts;
    const writes: Writes = [];
    const claims = state
      .due(nowMs, MESSAGING_LIMITS.receiveBatchCountMax)
      .filter(({ entry }) => entry.attempt >= maxAttempts)
      .map(({ queueOffset, entry }) => this.deadLetters.claim(key, state, queueOffset, entry, nowMs, 0, maxAttempts, writes));
    for (const claim of claims) {
      const [record] = (await store.read(key.t, key.q, claim.queueOffset, { countMax: 1 })).records;
      if (record) await this.deadLetters.complete(key, state, claim.queueOffset, claim.deliveryId, record);
      else {
        const done = progress.complete(key, state, claim.queueOffset, claim.deliveryId);
        if (done) addWrite(writes, done);
      }
    }
    await Promise.all(writes);
  }
}
