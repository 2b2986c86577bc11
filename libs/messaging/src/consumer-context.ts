// What the parts of the consumer service share: their options (store, registries, progress, clock,
// secret), the long-poll wake-ups, the push consumers' renewals, delivery ids, and how a receive,
// an ack or a sweep finds a queue's progress and the broadcast member it is for.
import { randomBytes } from 'node:crypto';
import { RmqError, type Clock } from '@rmq/base';
import type { MessageStore, StoredRecord } from '@rmq/store';
import type { TopicRegistry } from './topic-registry';
import type { GroupConfig, GroupRegistry } from './group-registry';
import type { ConsumerProgress, ProgressKey } from './consumer-progress';
import type { QueueConsumption } from './queue-consumption';
import type { ReceiveSlotBounds } from './receive-slots';
import { MESSAGING_LIMITS } from './limits';
import { AutoRenewals } from './auto-renew';
import { TopicWakeups } from './topic-wakeups';

export interface ConsumerServiceOptions {
  store: MessageStore;
  topics: TopicRegistry;
  groups: GroupRegistry;
  progress: ConsumerProgress;
  clock: Clock;
  /** Signs receipt handles; shared through the journal so every replica accepts them. */
  secret: () => Buffer;
  onDeadLetter?: (group: string, record: StoredRecord) => void;
  onSweepError?: (error: unknown) => void;
  /** Retention deleted `count` messages of a queue before `group` consumed them. */
  onRetentionSkipped?: (group: string, topic: string, queueId: number, count: number) => void;
  /**
   * The least invisible duration a SimpleConsumer may ask for, on receive and on change
   * (RocketMQ: 10 s). Push consumers' receives and nacks are timed by the broker and exempt.
   */
  simpleInvisibleMsMin?: number;
  /** Receives running at once per client and per group (defaults: MESSAGING_LIMITS). */
  receiveSlots?: Partial<ReceiveSlotBounds>;
}

/** 36^7 > 2^32: every run id in 7 base-36 digits. */
const RUN_ID_CHARS = 7;

export class ConsumerContext {
  readonly wakeups = new TopicWakeups();
  readonly renewals = new AutoRenewals(MESSAGING_LIMITS.clientAliveMsMax, MESSAGING_LIMITS.autoRenewalsMax, MESSAGING_LIMITS.liveClientsMax);
  /**
   * Delivery ids are unique per process run: a handle of an earlier run never matches a delivery of
   * this one. An id is the run id (32 random bits as 7 base-36 digits: a fixed length, so the run id
   * and the sequence cannot be told apart two ways) then the sequence in base 36: 12 characters
   * up to 60 million deliveries, which V8 copies into a flat string where a longer one would be a
   * rope (flattened again when it is written into a handle and a journal record).
   */
  private readonly runId = randomBytes(4).readUInt32BE(0).toString(36).padStart(RUN_ID_CHARS, '0');
  private deliverySequence = 0;

  constructor(readonly options: ConsumerServiceOptions) {}

  nextDeliveryId(): string {
    return this.runId + (this.deliverySequence++).toString(36);
  }

  /** A group's progress in a queue, or a broadcast member's (`key.m` set). */
  state(key: ProgressKey, settings = this.options.groups.settingsOf(key.g)): QueueConsumption {
    // A FIFO topic is consumed in message-group order by groups that consume orderly.
    const fifo = settings.fifo && this.options.topics.get(key.t)?.messageType === 'FIFO';
    return this.options.progress.state(key, fifo);
  }

  /** The progress owner within a group: the client for a broadcast group, nobody otherwise. */
  memberOf(settings: GroupConfig, clientId: string | undefined): string | undefined {
    if (settings.consumeType !== 'broadcast') return undefined;
    if (!clientId) throw new RmqError('BAD_REQUEST', { reason: `consumer group ${settings.name} is consumed in broadcast mode, which needs the client id (header x-mq-client-id)` });
    return clientId;
  }

  /** The client made a request: it is alive, and its deliveries keep being renewed. */
  clientSeen(clientId: string): void {
    this.renewals.clientSeen(clientId, this.options.clock.nowMs());
  }
}

export function progressKey(group: string, topic: string, queueId: number, member: string | undefined): ProgressKey {
  return member === undefined ? { g: group, t: topic, q: queueId } : { g: group, t: topic, q: queueId, m: member };
}

/** Journal writes a reply waits for: it is sent only once they are recorded (written or durable, by kind). */
export type Writes = Promise<void>[];

/**
 * Adds a journal write to those awaited together at the end of an operation. A write the journal
 * refuses (a broker between master and slave) rejects at once, while the operation still reads
 * the next message: marked handled here, so it is not an unhandled rejection that stops the
 * process; the operation's Promise.all still fails with it.
 */
export function addWrite(writes: Writes, write: Promise<void>): void {
  // Changes recorded together share their record's promise: a receive of 1,000 messages awaits one, not 1,000.
  if (writes.includes(write)) return;
  write.catch(() => undefined);
  writes.push(write);
}
