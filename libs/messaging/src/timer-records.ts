// How delay messages live in the commit log (RocketMQ 5's timer design, on our store): a message
// due later is appended to the system topic %SYS%TIMER, queue 0 ("schedules"), with its real
// topic in a property and its due second as the queue entry's tag hash, so a rebuild reads only
// the queue index. When due it is re-put to its real topic with the schedule's queue offset
// (s.timerQ): that record is what says it was delivered. Queue 1 holds progress marks, written
// after each batch of re-puts, and queue 2 holds recalls.
import { tagHashOf, type AppendInput, type StoredRecord } from '@rmq/store';
import { SYSTEM_TOPIC_PREFIX } from '@rmq/base';
import { SYSTEM_PROPERTY, toAppendInput, type OutgoingMessage } from './message-properties';

export const TIMER_TOPIC = `${SYSTEM_TOPIC_PREFIX}TIMER`;
export const TIMER_QUEUE = { schedules: 0, marks: 1, recalls: 2 } as const;

export const TIMER_PROPERTY = {
  /** On a schedule: the topic the message is for. */
  realTopic: 's.realTopic',
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
  const input = toAppendInput({ ...message, deliveryTimestampMs: dueMs }, TIMER_QUEUE.schedules);
  const properties = new Map(input.properties);
  properties.set(TIMER_PROPERTY.realTopic, message.topic);
  return { ...input, topic: TIMER_TOPIC, tagHash: dueSecondOf(dueMs), properties };
}

export function dueMsOf(record: StoredRecord): number {
  return Number(record.properties.get(SYSTEM_PROPERTY.deliveryTimestampMs) ?? 0);
}

export function realTopicOf(record: StoredRecord): string {
  return record.properties.get(TIMER_PROPERTY.realTopic) ?? '';
}

/** The delivery of a schedule to its real topic; the queue is the schedule's offset modulo the queue count (the same on any replica). */
export function reputInput(schedule: StoredRecord, queueCount: number): AppendInput {
  const properties = new Map(schedule.properties);
  properties.delete(TIMER_PROPERTY.realTopic);
  properties.set(TIMER_PROPERTY.timerQueueOffset, String(schedule.queueOffset));
  return {
    topic: realTopicOf(schedule),
    queueId: schedule.queueOffset % queueCount,
    tagHash: tagHashOf(schedule.properties.get(SYSTEM_PROPERTY.tag)),
    flags: 0,
    bornTimestampMs: schedule.bornTimestampMs,
    properties,
    body: schedule.body,
  };
}

export function markInput(markQueueOffset: number, markDueMs: number, nowMs: number): AppendInput {
  return systemInput(TIMER_QUEUE.marks, nowMs, [[TIMER_PROPERTY.markQueueOffset, String(markQueueOffset)], [TIMER_PROPERTY.markDueMs, String(markDueMs)]]);
}

export function recallInput(queueOffset: number, nowMs: number): AppendInput {
  return systemInput(TIMER_QUEUE.recalls, nowMs, [[TIMER_PROPERTY.recalledQueueOffset, String(queueOffset)]]);
}

export function systemInput(queueId: number, nowMs: number, properties: [string, string][], topic = TIMER_TOPIC): AppendInput {
  return { topic, queueId, tagHash: 0, flags: 0, bornTimestampMs: nowMs, properties: new Map(properties), body: new Uint8Array(0) };
}
