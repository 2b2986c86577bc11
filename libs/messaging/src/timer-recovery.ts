// What TimerService reads from the log at start besides the schedules' index: the last mark
// and every recall; and, for schedules due before the start, whether a delivery whose mark a
// crash tore off is already at the end of its real queue.
import type { MessageStore } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import { TIMER_PROPERTY, TIMER_QUEUE, TIMER_TOPIC } from './timer-records';

export interface TimerProgress {
  /** Every schedule below this queue offset due before markDueMs is settled. */
  markQueueOffset: number;
  markDueMs: number;
  /** Where the last mark is in the log (-1: none). */
  markLogOffset: number;
  recalls: Set<number>;
}

export async function readTimerProgress(store: MessageStore): Promise<TimerProgress> {
  const progress: TimerProgress = { markQueueOffset: 0, markDueMs: 0, markLogOffset: -1, recalls: new Set() };
  const marks = store.queueRange(TIMER_TOPIC, TIMER_QUEUE.marks);
  if (marks.maxQueueOffset > marks.minQueueOffset) {
    const [mark] = (await store.read(TIMER_TOPIC, TIMER_QUEUE.marks, marks.maxQueueOffset - 1, { countMax: 1 })).records;
    if (mark) {
      progress.markLogOffset = mark.logOffset;
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
 * Deliveries that reached the log after the last surviving mark. A crash tears only the last
 * appends (at most the dispatches in flight at once), so such a delivery is among the last
 * entries its queue had at start, after the mark; each queue is read once, on first need.
 */
export class TailReputs {
  private readonly queueEnds = new Map<string, number>();
  private readonly reputs = new Map<string, Set<number>>();

  constructor(
    private readonly store: MessageStore,
    private readonly markLogOffset: number,
  ) {
    for (const queue of store.queueList()) this.queueEnds.set(`${queue.topic}/${queue.queueId}`, queue.count);
  }

  async has(topic: string, queueId: number, scheduleQueueOffset: number): Promise<boolean> {
    const key = `${topic}/${queueId}`;
    let found = this.reputs.get(key);
    if (!found) {
      found = new Set();
      const end = this.queueEnds.get(key) ?? 0;
      const from = Math.max(0, end - MESSAGING_LIMITS.timerDispatchBatchMax * MESSAGING_LIMITS.timerDispatchesInFlightMax);
      const tail = (await this.store.queueEntries(topic, queueId, from, end - from)).filter((entry) => entry.logOffset > this.markLogOffset);
      if (tail.length > 0) {
        const { records } = await this.store.read(topic, queueId, tail[0].queueOffset, { countMax: end - tail[0].queueOffset });
        for (const record of records) {
          const origin = record.properties.get(TIMER_PROPERTY.timerQueueOffset);
          if (record.queueOffset < end && origin !== undefined) found.add(Number(origin));
        }
      }
      this.reputs.set(key, found);
    }
    return found.has(scheduleQueueOffset);
  }
}
