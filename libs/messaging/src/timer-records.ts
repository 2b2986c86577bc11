// How delay messages live in the commit log (RocketMQ 5's timer design, on our store): a message
// due later is parked in the system topic %SYS%TIMER, queue 0 ("schedules"), with its real
// topic in a property (system-records.ts) and its due second as the queue entry's tag hash, so
// a rebuild reads only the queue index. When due it is re-put to its real topic with the schedule's queue offset
// (s.timerQ): that record is what says it was delivered. Queue 1 holds progress marks, written
// after each batch of re-puts, and queue 2 holds recalls.
import type { AppendInput, StoredRecord } from '@rmq/store';
import { SYSTEM_TOPIC_PREFIX } from '@rmq/base';
import { SYSTEM_PROPERTY, type OutgoingMessage } from './message-properties';
import { parkedInput, progressInput, releasedInput } from './system-records';

export const TIMER_TOPIC = `${SYSTEM_TOPIC_PREFIX}TIMER`;
export const TIMER_QUEUE = { schedules: 0, marks: 1, recalls: 2 } as const;

export const TIMER_PROPERTY = {
  /** On a re-put: the schedule's queue offset (which schedule this delivery settles). */
  timerQueueOffset: 's.timerQ',
  /** On a mark: every schedule below this queue offset that is due before markDue is settled. */
  markQueueOffset: 's.markQ',
  markDueMs: 's.markDue',
  /** On a recall: the recalled schedule's queue offset. */
  recalledQueueOffset: 's.recallQ',
} as const;

/** The due second kept in a schedule's tag hash (u32 seconds since 1970 last until 2106). */
export function dueSecondOf(dueMs: number): number {
  return Math.floor(dueMs / 1000);
}

export function scheduleInput(message: OutgoingMessage, dueMs: number): AppendInput {
  return parkedInput({ ...message, deliveryTimestampMs: dueMs }, TIMER_TOPIC, dueSecondOf(dueMs));
}

export function dueMsOf(record: StoredRecord): number {
  return Number(record.properties.get(SYSTEM_PROPERTY.deliveryTimestampMs) ?? 0);
}

/** The delivery of a schedule to its real topic. */
export function reputInput(schedule: StoredRecord, queueCount: number): AppendInput {
  return releasedInput(schedule, queueCount, TIMER_PROPERTY.timerQueueOffset);
}

export function markInput(markQueueOffset: number, markDueMs: number, nowMs: number): AppendInput {
  return progressInput(TIMER_TOPIC, TIMER_QUEUE.marks, nowMs, [[TIMER_PROPERTY.markQueueOffset, String(markQueueOffset)], [TIMER_PROPERTY.markDueMs, String(markDueMs)]]);
}

export function recallInput(queueOffset: number, nowMs: number): AppendInput {
  return progressInput(TIMER_TOPIC, TIMER_QUEUE.recalls, nowMs, [[TIMER_PROPERTY.recalledQueueOffset, String(queueOffset)]]);
}
