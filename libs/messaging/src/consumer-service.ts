// Receive / ack / change-invisible-duration for consumer groups (RocketMQ 5 "pop" consumption):
// any member may take from any queue of the topic on this broker; a received message stays
// invisible to the group until acked or until its invisible duration ends, then it comes back
// with the next delivery attempt; past the group's maximum it goes to %DLQ%<group>.
import { randomBytes } from 'node:crypto';
import { deadLetterTopicOf, RmqError, type Clock } from '@rmq/base';
import { tagHashOf, type MessageStore, type StoredRecord } from '@rmq/store';
import { decodeReceiptHandle, encodeReceiptHandle } from './receipt-handle';
import { QueueConsumption } from './queue-consumption';
import { ConsumptionStore } from './consumption-store';
import { PERM_READ, type TopicRegistry } from './topic-registry';
import type { TagFilter } from './tag-filter';
import { MESSAGING_LIMITS } from './limits';
import { SYSTEM_PROPERTY } from './message-properties';

export interface ReceiveRequest {
  group: string;
  topic: string;
  filter: TagFilter;
  countMax: number;
  invisibleMs: number;
  longPollingMs: number;
  signal?: AbortSignal;
}

export interface Delivery {
  record: StoredRecord;
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleMs: number;
}

export interface ConsumerServiceOptions {
  store: MessageStore;
  topics: TopicRegistry;
  consumption: ConsumptionStore;
  clock: Clock;
  /** Signs receipt handles; kept across restarts so handles stay verifiable. */
  secret: Buffer;
  deliveryAttemptsMax?: number;
  onDeadLetter?: (group: string, record: StoredRecord) => void;
}

export class ConsumerService {
  private readonly states = new Map<string, QueueConsumption>();
  private readonly runId = randomBytes(4).toString('hex');
  private deliverySequence = 0;
  private rotation = 0;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly options: ConsumerServiceOptions) {
    this.unsubscribe = options.store.onConfirmed((topic) => this.wake(topic));
  }

  /** Waits up to the long-polling time for at least one message; returns what it found. */
  async receive(request: ReceiveRequest): Promise<Delivery[]> {
    const topic = this.options.topics.require(request.topic);
    if ((topic.perm & PERM_READ) === 0) throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} is not readable on this broker` });
    const deadlineMs = this.options.clock.nowMs() + request.longPollingMs;
    for (;;) {
      const deliveries = await this.receiveNow(request, topic.queueCount);
      const nowMs = this.options.clock.nowMs();
      if (deliveries.length > 0 || nowMs >= deadlineMs || request.signal?.aborted) return deliveries;
      const wakeAtMs = Math.min(deadlineMs, this.nextVisibleAtMs(request.group, request.topic, topic.queueCount) ?? deadlineMs);
      await this.waitForMessages(request.topic, Math.max(1, wakeAtMs - nowMs), request.signal);
    }
  }

  ack(group: string, topic: string, receiptHandle: string): void {
    const handle = this.decode(group, topic, receiptHandle);
    const state = this.state(group, topic, handle.queueId);
    if (!state.complete(handle.queueOffset, handle.deliveryId)) throw staleHandle();
    this.options.consumption.touch();
  }

  /** Makes a received message invisible for `invisibleMs` from now; returns its new handle. */
  changeInvisibleDuration(group: string, topic: string, receiptHandle: string, invisibleMs: number): string {
    checkInvisibleMs(invisibleMs);
    const handle = this.decode(group, topic, receiptHandle);
    const state = this.state(group, topic, handle.queueId);
    const current = state.current(handle.queueOffset);
    const deliveryId = this.nextDeliveryId();
    const renewed = { deliveryId, visibleAtMs: this.options.clock.nowMs() + invisibleMs, attempt: current?.attempt ?? 1 };
    if (!current || !state.renew(handle.queueOffset, handle.deliveryId, renewed)) throw staleHandle();
    this.options.consumption.touch();
    if (invisibleMs === 0) this.wake(topic);
    return encodeReceiptHandle({ ...handle, deliveryId }, this.options.secret);
  }

  /** Moves a received message to the group's dead-letter topic now (FIFO consumers give up this way). */
  async forwardToDeadLetter(group: string, topic: string, receiptHandle: string): Promise<void> {
    const handle = this.decode(group, topic, receiptHandle);
    const state = this.state(group, topic, handle.queueId);
    const current = state.current(handle.queueOffset);
    if (!current || current.deliveryId !== handle.deliveryId) throw staleHandle();
    const [record] = (await this.options.store.read(topic, handle.queueId, handle.queueOffset, { countMax: 1 })).records;
    await this.deadLetter(group, record);
    if (!state.complete(handle.queueOffset, handle.deliveryId)) throw staleHandle();
    this.options.consumption.touch();
  }

  close(): void {
    this.unsubscribe();
    for (const topicWaiters of this.waiters.values()) for (const wake of topicWaiters) wake();
  }

  private async receiveNow(request: ReceiveRequest, queueCount: number): Promise<Delivery[]> {
    const deliveries: Delivery[] = [];
    const first = this.rotation++ % queueCount;
    for (let i = 0; i < queueCount && deliveries.length < request.countMax; i++) {
      const queueId = (first + i) % queueCount;
      const state = this.state(request.group, request.topic, queueId);
      const before = deliveries.length;
      const committedBefore = state.committedOffset;
      await this.redeliverDue(request, queueId, state, deliveries);
      await this.deliverNew(request, queueId, state, deliveries);
      if (deliveries.length !== before || state.committedOffset !== committedBefore) this.options.consumption.touch();
    }
    return deliveries;
  }

  private async redeliverDue(request: ReceiveRequest, queueId: number, state: QueueConsumption, out: Delivery[]): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    for (const { queueOffset, entry } of state.due(nowMs, request.countMax - out.length)) {
      const [record] = (await this.options.store.read(request.topic, queueId, queueOffset, { countMax: 1 })).records;
      const attempt = entry.attempt + 1;
      if (attempt > (this.options.deliveryAttemptsMax ?? MESSAGING_LIMITS.deliveryAttemptsMax)) {
        await this.deadLetter(request.group, record);
        state.complete(queueOffset, entry.deliveryId);
        continue;
      }
      out.push(this.deliver(request, queueId, state, record, attempt, nowMs));
    }
  }

  private async deliverNew(request: ReceiveRequest, queueId: number, state: QueueConsumption, out: Delivery[]): Promise<void> {
    const room = Math.min(request.countMax - out.length, MESSAGING_LIMITS.inflightPerQueueMax - state.inflightCount);
    if (room <= 0) return;
    const { records, nextQueueOffset } = await this.options.store.read(request.topic, queueId, state.nextOffset, {
      countMax: room,
      acceptTagHash: request.filter.acceptsAll ? undefined : (hash) => request.filter.acceptTagHash(hash),
    });
    const nowMs = this.options.clock.nowMs();
    for (const record of records) {
      if (!request.filter.acceptTag(record.properties.get(SYSTEM_PROPERTY.tag))) continue;
      state.skipTo(record.queueOffset);
      out.push(this.deliver(request, queueId, state, record, 1, nowMs));
    }
    state.skipTo(nextQueueOffset);
  }

  private deliver(request: ReceiveRequest, queueId: number, state: QueueConsumption, record: StoredRecord, attempt: number, nowMs: number): Delivery {
    const deliveryId = this.nextDeliveryId();
    state.deliver(record.queueOffset, { deliveryId, visibleAtMs: nowMs + request.invisibleMs, attempt });
    const receiptHandle = encodeReceiptHandle(
      { group: request.group, topic: request.topic, queueId, queueOffset: record.queueOffset, deliveryId },
      this.options.secret,
    );
    return { record, receiptHandle, deliveryAttempt: attempt, invisibleMs: request.invisibleMs };
  }

  private async deadLetter(group: string, record: StoredRecord): Promise<void> {
    const dlqTopic = deadLetterTopicOf(group);
    await this.options.topics.create(dlqTopic, { queueCount: 1 });
    const properties = new Map(record.properties);
    properties.set(SYSTEM_PROPERTY.dlqOriginTopic, record.topic);
    await this.options.store.append([{ ...record, topic: dlqTopic, queueId: 0, tagHash: tagHashOf(properties.get(SYSTEM_PROPERTY.tag)), properties }]);
    this.options.onDeadLetter?.(group, record);
  }

  private state(group: string, topic: string, queueId: number): QueueConsumption {
    const key = `${group}\u0000${topic}\u0000${queueId}`;
    let state = this.states.get(key);
    if (!state) {
      const range = this.options.store.queueRange(topic, queueId);
      const saved = this.options.consumption.saved(group, topic, queueId);
      // A group new to this queue starts at the queue's first message.
      const created = saved ? QueueConsumption.restore(saved, range.maxQueueOffset) : new QueueConsumption(range.minQueueOffset);
      this.options.consumption.attach(group, topic, queueId, () => created.snapshot());
      this.states.set(key, created);
      state = created;
    }
    return state;
  }

  private nextVisibleAtMs(group: string, topic: string, queueCount: number): number | undefined {
    let earliest: number | undefined;
    for (let queueId = 0; queueId < queueCount; queueId++) {
      const at = this.states.get(`${group}\u0000${topic}\u0000${queueId}`)?.nextVisibleAtMs();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  private decode(group: string, topic: string, receiptHandle: string) {
    const handle = decodeReceiptHandle(receiptHandle, this.options.secret);
    if (handle.group !== group) throw new RmqError('INVALID_RECEIPT_HANDLE', { reason: `it belongs to consumer group ${handle.group}, not ${group}` });
    if (handle.topic !== topic) throw new RmqError('INVALID_RECEIPT_HANDLE', { reason: `it belongs to topic ${handle.topic}, not ${topic}` });
    return handle;
  }

  private nextDeliveryId(): string {
    return `${this.runId}-${(this.deliverySequence++).toString(36)}`;
  }

  private waitForMessages(topic: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const topicWaiters = this.waiters.get(topic) ?? new Set();
      this.waiters.set(topic, topicWaiters);
      const done = () => {
        topicWaiters.delete(done);
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      topicWaiters.add(done);
    });
  }

  private wake(topic: string): void {
    for (const wake of [...(this.waiters.get(topic) ?? [])]) wake();
  }
}

export function checkInvisibleMs(invisibleMs: number): void {
  if (!Number.isFinite(invisibleMs) || invisibleMs < MESSAGING_LIMITS.invisibleMsMin || invisibleMs > MESSAGING_LIMITS.invisibleMsMax) {
    throw new RmqError('ILLEGAL_INVISIBLE_TIME', { durationMs: invisibleMs, minMs: MESSAGING_LIMITS.invisibleMsMin, maxMs: MESSAGING_LIMITS.invisibleMsMax });
  }
}

function staleHandle(): RmqError {
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason: 'the message was acknowledged or delivered again since this handle was issued' });
}
