// What TimerService reads from the log at start besides the schedules' index: the last mark
// and every recall; and, for schedules due before the start, whether a delivery the last mark
// does not cover is already at the end of its real queue.
import type { MessageStore } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import { TIMER_PROPERTY, TIMER_QUEUE, TIMER_TOPIC } from './timer-records';

export interface TimerProgress {
  /** Every schedule below this queue offset due before markDueMs is settled. */
  markQueueOffset: number;
  markDueMs: number;
  recalls: Set<number>;
}

export async function readTimerProgress(store: MessageStore): Promise<TimerProgress> {
  const progress: TimerProgress = { markQueueOffset: 0, markDueMs: 0, recalls: new Set() };
  const marks = store.queueRange(TIMER_TOPIC, TIMER_QUEUE.marks);
  if (marks.maxQueueOffset > marks.minQueueOffset) {
    const [mark] = (await store.read(TIMER_TOPIC, TIMER_QUEUE.marks, marks.maxQueueOffset - 1, { countMax: 1 })).records;
    if (mark) {
      progress.markQueueOffset = Number(mark.properties.get(TIMER_PROPERTY.markQueueOffset) ?? 0);
      progress.markDueMs = Number(mark.properties.get(TIMER_PROPERTY.markDueMs) ?? 0);
    }
  }
  // Recalls are rare: all of them are read.
  for (let from = 0; ;) {
    const { records, nextQueueOffset } = await store.read(TIMER_TOPIC, TIMER_QUEUE.recalls, from, { countMax: 1000 });
    for (const record of records) progress.recalls.add(Number(record.properties.get(TIMER_PROPERTY.recalledQueueOffset)));
    if (nextQueueOffset === from) break;
    from = nextQueueOffset;
  }
  return progress;
}

/**
 * Deliveries the last surviving mark does not cover: those appended after it (a crash or a
 * takeover can cut an append short, mark and all) and those of dispatches that were still in
 * flight when it was written (a mark never claims what another dispatch has not appended yet).
 * Both are among the last timerDispatchBatchMax x timerDispatchesInFlightMax deliveries of their
 * queue (a DELAY topic's queues hold nothing but deliveries); each queue is read once, on need.
 */
export class TailReputs {
  private readonly queueEnds = new Map<string, number>();
  private readonly reputs = new Map<string, Set<number>>();

  constructor(private readonly store: MessageStore) {
    for (const queue of store.queueList()) this.queueEnds.set(`${queue.topic}/${queue.queueId}`, queue.count);
  }

  async has(topic: string, queueId: number, scheduleQueueOffset: number): Promise<boolean> {
    const key = `${topic}/${queueId}`;
    let found = this.reputs.get(key);
    if (!found) {
      found = new Set();
      const end = this.queueEnds.get(key) ?? 0;
      for (let from = Math.max(0, end - MESSAGING_LIMITS.timerDispatchBatchMax * MESSAGING_LIMITS.timerDispatchesInFlightMax); from < end; ) {
        const { records, nextQueueOffset } = await this.store.read(topic, queueId, from, { countMax: end - from });
        for (const record of records) {
          const origin = record.properties.get(TIMER_PROPERTY.timerQueueOffset);
          if (record.queueOffset < end && origin !== undefined) found.add(Number(origin));
        }
        if (nextQueueOffset <= from) break;
        from = nextQueueOffset;
      }
      this.reputs.set(key, found);
    }
    return found.has(scheduleQueueOffset);
  }
}
