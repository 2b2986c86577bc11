// How transactional messages live in the commit log (RocketMQ's design): the half message goes
// to %SYS%TRANS_HALF (queue 0) with its real topic in a property (system-records.ts), invisible
// to consumers; every outcome is an op record in %SYS%TRANS_OP (queue 0) naming the half's queue offset.
// A COMMIT appends the message to its real topic and the op in one append (op last), so an op
// on disk means the delivery is too. Each op also carries the lowest half still open after it,
// where recovery starts reading.
import { SYSTEM_TOPIC_PREFIX } from '@rmq/base';
import type { AppendInput, StoredRecord } from '@rmq/store';
import type { OutgoingMessage } from './message-properties';
import { parkedInput, progressInput, releasedInput } from './system-records';

export const HALF_TOPIC = `${SYSTEM_TOPIC_PREFIX}TRANS_HALF`;
export const OP_TOPIC = `${SYSTEM_TOPIC_PREFIX}TRANS_OP`;

export type TransactionOutcome = 'COMMIT' | 'ROLLBACK' | 'EXPIRED';

export const TRANSACTION_PROPERTY = {
  halfQueueOffset: 's.halfQ',
  outcome: 's.outcome',
  /** On an op: every half below this queue offset is settled. */
  openLow: 's.openLow',
} as const;

export function halfInput(message: OutgoingMessage): AppendInput {
  return parkedInput(message, HALF_TOPIC);
}

/** The committed message in its real topic. */
export function committedInput(half: StoredRecord, queueCount: number): AppendInput {
  return releasedInput(half, queueCount, TRANSACTION_PROPERTY.halfQueueOffset);
}

export function opInput(halfQueueOffset: number, outcome: TransactionOutcome, openLow: number, nowMs: number): AppendInput {
  return progressInput(OP_TOPIC, 0, nowMs, [
    [TRANSACTION_PROPERTY.halfQueueOffset, String(halfQueueOffset)],
    [TRANSACTION_PROPERTY.outcome, outcome],
    [TRANSACTION_PROPERTY.openLow, String(openLow)],
  ]);
}
