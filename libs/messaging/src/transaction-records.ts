// How transactional messages live in the commit log (RocketMQ's design): the half message goes
// to %SYS%TRANS_HALF (queue 0) with its real topic in a property, invisible to consumers;
// every outcome is an op record in %SYS%TRANS_OP (queue 0) naming the half's queue offset.
// A COMMIT appends the message to its real topic and the op in one append (op last), so an op
// on disk means the delivery is too. Each op also carries the lowest half still open after it,
// where recovery starts reading.
import { SYSTEM_TOPIC_PREFIX } from '@rmq/base';
import { tagHashOf, type AppendInput, type StoredRecord } from '@rmq/store';
import { SYSTEM_PROPERTY, toAppendInput, type OutgoingMessage } from './message-properties';
import { systemInput } from './timer-records';

export const HALF_TOPIC = `${SYSTEM_TOPIC_PREFIX}TRANS_HALF`;
export const OP_TOPIC = `${SYSTEM_TOPIC_PREFIX}TRANS_OP`;

export type TransactionOutcome = 'COMMIT' | 'ROLLBACK' | 'EXPIRED';

export const TRANSACTION_PROPERTY = {
  realTopic: 's.realTopic',
  halfQueueOffset: 's.halfQ',
  outcome: 's.outcome',
  /** On an op: every half below this queue offset is settled. */
  openLow: 's.openLow',
} as const;

export function halfInput(message: OutgoingMessage): AppendInput {
  const input = toAppendInput(message, 0);
  const properties = new Map(input.properties);
  properties.set(TRANSACTION_PROPERTY.realTopic, message.topic);
  return { ...input, topic: HALF_TOPIC, properties };
}

export function realTopicOfHalf(record: StoredRecord): string {
  return record.properties.get(TRANSACTION_PROPERTY.realTopic) ?? '';
}

/** The committed message in its real topic; the queue is the half's offset modulo the queue count. */
export function committedInput(half: StoredRecord, queueCount: number): AppendInput {
  const properties = new Map(half.properties);
  properties.delete(TRANSACTION_PROPERTY.realTopic);
  properties.set(TRANSACTION_PROPERTY.halfQueueOffset, String(half.queueOffset));
  return {
    topic: realTopicOfHalf(half),
    queueId: half.queueOffset % queueCount,
    tagHash: tagHashOf(half.properties.get(SYSTEM_PROPERTY.tag)),
    flags: 0,
    bornTimestampMs: half.bornTimestampMs,
    properties,
    body: half.body,
  };
}

export function opInput(halfQueueOffset: number, outcome: TransactionOutcome, openLow: number, nowMs: number): AppendInput {
  return systemInput(0, nowMs, [
    [TRANSACTION_PROPERTY.halfQueueOffset, String(halfQueueOffset)],
    [TRANSACTION_PROPERTY.outcome, outcome],
    [TRANSACTION_PROPERTY.openLow, String(openLow)],
  ], OP_TOPIC);
}
