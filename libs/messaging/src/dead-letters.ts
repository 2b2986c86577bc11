// Redelivery claims and the dead-letter move: a due message is claimed (a new delivery id and
// deadline, journaled) before anything is awaited; one past its group's last attempt is appended
// to %DLQ%<group> and then completed. Used by receives (due messages) and by the sweep.
import { deadLetterTopicOf } from '@rmq/base';
import { tagHashOf, type StoredRecord } from '@rmq/store';
import type { ProgressKey } from './consumer-progress';
import type { InflightEntry, QueueConsumption } from './queue-consumption';
import { SYSTEM_PROPERTY } from './message-properties';
import { addWrite, type ConsumerContext, type Writes } from './consumer-context';

/** How long a message being moved to the dead-letter topic stays claimed before a retry. */
export const DEAD_LETTER_RETRY_MS = 30_000;

export interface Claim {
  queueOffset: number;
  deliveryId: string;
  attempt: number;
  /** Past the last attempt: to be moved to the dead-letter topic, not delivered. */
  deadLetter: boolean;
}

export class DeadLetters {
  constructor(private readonly context: ConsumerContext) {}

  /** Claims a due message for its next attempt (or, past the last, for the dead-letter move); the journal write joins `writes`. */
  claim(key: ProgressKey, state: QueueConsumption, queueOffset: number, entry: InflightEntry, nowMs: number, invisibleMs: number, maxAttempts: number, writes: Writes): Claim {
    const deliveryId = this.context.nextDeliveryId();
    const attempt = entry.attempt + 1;
    const deadLetter = attempt > maxAttempts;
    // A dead-letter claim holds the message back for a while; if the move fails it is retried then.
    const visibleAtMs = nowMs + (deadLetter ? DEAD_LETTER_RETRY_MS : invisibleMs);
    addWrite(writes, this.context.options.progress.deliver(key, state, queueOffset, { deliveryId, visibleAtMs, attempt: deadLetter ? entry.attempt : attempt, receiptHandle: undefined }));
    return { queueOffset, deliveryId, attempt, deadLetter };
  }

  /** Moves a claimed message to the dead-letter topic, then completes it (FIFO: the next of its message group may go). */
  async complete(key: ProgressKey, state: QueueConsumption, queueOffset: number, deliveryId: string, record: StoredRecord): Promise<void> {
    await this.append(key.g, record);
    const done = this.context.options.progress.complete(key, state, queueOffset, deliveryId);
    if (state.fifo) this.context.wakeups.wake(record.topic);
    await done;
  }

  private async append(group: string, record: StoredRecord): Promise<void> {
    const { topics, store, onDeadLetter } = this.context.options;
    const dlqTopic = deadLetterTopicOf(group);
    // One made by hand (any queue count; always NORMAL) is used as it is.
    if (!topics.get(dlqTopic)) await topics.create(dlqTopic, { queueCount: 1 });
    const properties = new Map(record.properties);
    properties.set(SYSTEM_PROPERTY.dlqOriginTopic, record.topic);
    await store.append([{
      topic: dlqTopic, queueId: 0, tagHash: tagHashOf(properties.get(SYSTEM_PROPERTY.tag)), flags: record.flags, bornTimestampMs: record.bornTimestampMs, properties, body: record.body,
    }]);
    onDeadLetter?.(group, record);
  }
}
