// Pull consumers, as RocketMQ 5's proxy serves them: the client names the queue and the offset,
// the broker returns what is there (filtered) and the next offset to ask for, holding the call
// while nothing new has arrived (long polling). No receipt handles, no in-flight state: progress
// is what the client commits with UpdateOffset. QueryOffset finds the beginning, the end, or the
// first message stored at or after a time (binary search on store timestamps, which follow log order).
import { RmqError, type Clock } from '@rmq/base';
import type { MessageStore, StoredRecord } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import type { MessageFilter } from './message-filter';
import { SYSTEM_PROPERTY, userPropertiesOf } from './message-properties';
import type { PullOffsetStore } from './pull-offsets';
import { PERM_READ, type TopicRegistry } from './topic-registry';
import { TopicWakeups } from './topic-wakeups';

export interface PullRequest {
  topic: string;
  queueId: number;
  queueOffset: number;
  countMax: number;
  filter: MessageFilter;
  longPollingMs: number;
  signal?: AbortSignal;
}

export interface PullResult {
  records: StoredRecord[];
  nextQueueOffset: number;
}

export type OffsetPolicy = 'BEGINNING' | 'END' | 'TIMESTAMP';

export class PullService {
  private readonly wakeups = new TopicWakeups();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicRegistry,
    private readonly offsets: PullOffsetStore,
    private readonly clock: Clock,
  ) {
    this.unsubscribe = store.onConfirmed((topic) => this.wakeups.wake(topic));
  }

  async pull(request: PullRequest): Promise<PullResult> {
    this.requireQueue(request.topic, request.queueId, true);
    const { maxQueueOffset } = this.store.queueRange(request.topic, request.queueId);
    if (request.queueOffset > maxQueueOffset) {
      throw new RmqError('ILLEGAL_OFFSET', { offset: request.queueOffset, topic: request.topic, queueId: request.queueId, reason: `the queue ends at ${maxQueueOffset}` });
    }
    const deadlineMs = this.clock.nowMs() + request.longPollingMs;
    let from = request.queueOffset;
    for (;;) {
      const wakesBefore = this.wakeups.count(request.topic);
      const read = await this.store.read(request.topic, request.queueId, from, {
        countMax: request.countMax,
        acceptTagHash: request.filter.acceptsAll ? undefined : (tagHash) => request.filter.acceptTagHash(tagHash),
      });
      const records = request.filter.acceptsAll ? read.records : read.records.filter((r) => request.filter.accept(r.property(SYSTEM_PROPERTY.tag), userPropertiesOf(r)));
      from = read.nextQueueOffset;
      const waitMs = deadlineMs - this.clock.nowMs();
      if (records.length > 0 || waitMs <= 0 || request.signal?.aborted) return { records, nextQueueOffset: from };
      // Filtered everything out but not at the end yet: read on at once.
      if (from < this.store.queueRange(request.topic, request.queueId).maxQueueOffset) continue;
      if (this.wakeups.count(request.topic) === wakesBefore) await this.wakeups.wait(request.topic, waitMs, request.signal);
    }
  }

  queryOffset(topic: string, queueId: number, policy: OffsetPolicy, timestampMs = 0): Promise<number> | number {
    this.requireQueue(topic, queueId, false);
    const { minQueueOffset, maxQueueOffset } = this.store.queueRange(topic, queueId);
    if (policy === 'BEGINNING') return minQueueOffset;
    if (policy === 'END') return maxQueueOffset;
    return this.firstAtOrAfter(topic, queueId, timestampMs, minQueueOffset, maxQueueOffset);
  }

  getOffset(group: string, topic: string, queueId: number): number {
    this.requireQueue(topic, queueId, false);
    const offset = this.offsets.get(group, topic, queueId);
    if (offset === undefined) throw new RmqError('OFFSET_NOT_FOUND', { group, topic, queueId });
    return offset;
  }

  async updateOffset(group: string, topic: string, queueId: number, queueOffset: number): Promise<void> {
    this.requireQueue(topic, queueId, false);
    const { minQueueOffset, maxQueueOffset } = this.store.queueRange(topic, queueId);
    if (!Number.isSafeInteger(queueOffset) || queueOffset < minQueueOffset || queueOffset > maxQueueOffset) {
      throw new RmqError('ILLEGAL_OFFSET', { offset: queueOffset, topic, queueId, reason: `a committed offset is within [${minQueueOffset}, ${maxQueueOffset}]` });
    }
    await this.offsets.set(group, topic, queueId, queueOffset);
  }

  close(): void {
    this.unsubscribe();
    this.wakeups.wakeAll();
  }

  private async firstAtOrAfter(topic: string, queueId: number, timestampMs: number, low: number, high: number): Promise<number> {
    for (let steps = 0; low < high && steps < MESSAGING_LIMITS.queryOffsetStepsMax; steps++) {
      const mid = Math.floor((low + high) / 2);
      const { records } = await this.store.read(topic, queueId, mid, { countMax: 1 });
      const record = records[0];
      if (!record) {
        low = mid + 1; // deleted by retention meanwhile: what is left starts later
        continue;
      }
      if (record.storeTimestampMs < timestampMs) low = record.queueOffset + 1;
      else high = Math.min(mid, record.queueOffset);
    }
    return low;
  }

  private requireQueue(topic: string, queueId: number, forRead: boolean): void {
    const config = this.topics.require(topic);
    if (forRead && (config.perm & PERM_READ) === 0) throw new RmqError('BAD_REQUEST', { reason: `topic ${topic} is not readable on this broker` });
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= config.queueCount) {
      throw new RmqError('BAD_REQUEST', { reason: `topic ${topic} has queues 0 to ${config.queueCount - 1}; there is no queue ${queueId}` });
    }
  }
}
