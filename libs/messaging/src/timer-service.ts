// Delay messages: schedules in the timer topic, a wheel of bucket files for the far future, a
// heap for the next second, and a dispatcher that re-puts due messages to their real topics.
//   - A schedule is in exactly one place: a bucket file or cache (due at or after the window
//     end), "resolving" (its record being read), the heap, a dispatch in flight, or settled.
//   - Every batch of re-puts is appended together with a mark (markQ, markDue): each schedule
//     below markQ that is due before markDue is settled (delivered, recalled or dropped). The
//     log keeps a prefix after a crash, so a mark on disk means its batch is on disk too.
//   - At start the pending set is rebuilt from the log alone (last mark, recalls, the timer
//     queue's index), so a restart and a replica taking over behave the same. The index dates a
//     schedule to the second, so those of the mark's own second are told apart once their
//     records are read. A schedule due before the start is first looked for at the end of its
//     real queue: a delivery the last mark does not cover (cut off with its append, or in a
//     dispatch in flight when the mark was written) is among the last entries of its queue.
import { delay, RmqError, type Clock } from '@rmq/base';
import type { AppendInput, MessageStore, StoredRecord } from '@rmq/store';
import { DueHeap } from './due-heap';
import { MESSAGING_LIMITS } from './limits';
import type { MessageStager } from './producer-service';
import { SYSTEM_PROPERTY, type OutgoingMessage } from './message-properties';
import { decodeRecallHandle, encodeRecallHandle } from './recall-handle';
import { TimerBuckets, type BucketEntry, type LoadedBucket } from './timer-buckets';
import { readTimerProgress, TailReputs } from './timer-recovery';
import { readSchedules } from './timer-reads';
import { realTopicOf } from './system-records';
import { dueMsOf, dueSecondOf, markInput, recallInput, reputInput, scheduleInput, TIMER_QUEUE, TIMER_TOPIC } from './timer-records';

export interface TimerServiceOptions {
  store: MessageStore;
  /** This broker's group (broker name): named in the recall handles, so a name server knows where to send a recall. */
  brokerName: string;
  /** Queue count of a real topic; undefined when it no longer exists (its due messages are dropped). */
  queueCountOf: (topic: string) => number | undefined;
  /** Folder for the bucket files (emptied at start). */
  dir: string;
  clock: Clock;
  delayMsMax: number;
  onError: (error: unknown) => void;
  /** Per delivered message: how late it became visible. */
  onDelivered?: (topic: string, latenessMs: number) => void;
  onDropped?: (topic: string, messageId: string) => void;
}

export interface TimerStats {
  pending: number;
  inMemory: number;
  onDisk: number;
  delivered: number;
  recalled: number;
}

interface NearEntry {
  dueMs: number;
  queueOffset: number;
  record: StoredRecord;
  /** Due before this run started: it may have been delivered after the last surviving mark. */
  checkDuplicate: boolean;
  cancelled: boolean;
}

interface BucketCache {
  loaded: Promise<LoadedBucket>;
  /** Schedules of this bucket that came after it was taken from its file. */
  added: Map<number, BucketEntry[]>;
}

export class TimerService {
  private indexedQueueOffset = 0;
  /** Schedules due before this second are in memory (heap, resolving or dispatching) or settled. */
  private windowEndSecond: number;
  private readonly heap = new DueHeap<NearEntry>();
  private readonly near = new Map<number, NearEntry>();
  /** Schedules whose records are being read: queue offset -> due second. */
  private readonly resolving = new Map<number, number>();
  /** How many of them are due in each second (for markDueMs, without a walk over them all). */
  private readonly resolvingBySecond = new Map<number, number>();
  private readonly resolvingWork = new Set<Promise<void>>();
  /** Schedules in dispatches not yet appended: queue offset -> due ms. */
  private readonly dispatching = new Map<number, number>();
  /** Recalls being written: queue offset -> due ms. */
  private readonly recalling = new Map<number, number>();
  /** Recalled schedules not met yet (in a bucket, or being resolved). */
  private readonly recalled = new Set<number>();
  /** Recent recalls (insertion order), so that recalling again answers OK rather than "delivered". */
  private readonly recentRecalls = new Set<number>();
  private readonly caches = new Map<number, BucketCache>();
  private pendingCount = 0;
  private deliveredCount = 0;
  private recalledCount = 0;
  private dispatchesInFlight = 0;
  private indexRunning: Promise<void> | undefined;
  private indexAgain = false;
  private advanceRunning = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly tick: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private closed = false;
  /** Bytes of the records held in `near`. */
  private heldBytes = 0;
  /** Deliveries at the end of the log at start (the duplicate check); set by recover(). */
  private tailReputs!: TailReputs;
  /** The last mark in the log at start: below queueOffset, everything due before dueMs was settled. */
  private lastMark = { queueOffset: 0, dueMs: 0 };
  /** Schedules below this queue offset were in the log at start (a previous master may have delivered them). */
  private queueOffsetAtStart = 0;

  private constructor(
    private readonly options: TimerServiceOptions,
    private readonly buckets: TimerBuckets,
    private readonly startMs: number,
  ) {
    this.windowEndSecond = dueSecondOf(startMs);
    this.stopListening = options.store.onConfirmed((topic, queueId) => {
      if (topic === TIMER_TOPIC && queueId === TIMER_QUEUE.schedules) void this.indexNew();
    });
    this.tick = setInterval(() => void this.advance(), MESSAGING_LIMITS.timerTickMs);
  }

  static async open(options: TimerServiceOptions): Promise<TimerService> {
    const buckets = await TimerBuckets.open(options.dir, MESSAGING_LIMITS.timerBucketSeconds);
    const service = new TimerService(options, buckets, options.clock.nowMs());
    await service.recover();
    void service.advance();
    return service;
  }

  /** The schedule record for a DELAY message; refuses a delivery time beyond the limit. */
  scheduleOf(message: OutgoingMessage): AppendInput {
    const dueMs = message.deliveryTimestampMs;
    if (dueMs === undefined) throw new RmqError('BAD_REQUEST', { reason: 'a DELAY message needs a delivery timestamp' });
    const delayMs = dueMs - this.options.clock.nowMs();
    if (delayMs > this.options.delayMsMax) {
      throw new RmqError('ILLEGAL_DELIVERY_TIME', { deliverAt: new Date(dueMs).toISOString(), delayMs, delayMsMax: this.options.delayMsMax });
    }
    return scheduleInput(message, dueMs);
  }

  /** How ProducerService stores DELAY messages: as schedules, answered with a recall handle. */
  stager(): MessageStager {
    return {
      stage: (message) => this.scheduleOf(message),
      receipt: (message, result) => ({
        recallHandle: encodeRecallHandle({ topic: message.topic, messageId: message.messageId, scheduleQueueOffset: result.queueOffset, brokerName: this.options.brokerName }),
      }),
    };
  }

  /** Cancels a pending delay message; recalling one twice is fine, a delivered one is refused. */
  async recall(topic: string, handle: string): Promise<{ messageId: string }> {
    const target = decodeRecallHandle(handle);
    // A handle of another group names a schedule of another log: the same offset here is someone else's.
    if (target.brokerName !== undefined && target.brokerName !== this.options.brokerName) {
      throw new RmqError('INVALID_RECALL_HANDLE', {
        reason: `it was issued by broker group ${target.brokerName}, not by this one (${this.options.brokerName}): recall through a name server, or at the master of ${target.brokerName}`,
      });
    }
    if (target.topic !== topic) throw new RmqError('INVALID_RECALL_HANDLE', { reason: `it belongs to topic ${target.topic}, not ${topic}` });
    const queueOffset = target.scheduleQueueOffset;
    const { records } = await this.options.store.read(TIMER_TOPIC, TIMER_QUEUE.schedules, queueOffset, { countMax: 1 });
    const schedule = records[0];
    if (!schedule || schedule.queueOffset !== queueOffset || schedule.properties.get(SYSTEM_PROPERTY.messageId) !== target.messageId || realTopicOf(schedule) !== topic) {
      throw new RmqError('INVALID_RECALL_HANDLE', { reason: `no delay message ${target.messageId} of topic ${topic} is scheduled here` });
    }
    await this.indexNew();
    while (this.resolving.has(queueOffset) && this.resolvingWork.size > 0) await Promise.race(this.resolvingWork);
    const dueMs = dueMsOf(schedule);
    if (this.recalled.has(queueOffset) || this.recalling.has(queueOffset) || this.recentRecalls.has(queueOffset)) return { messageId: target.messageId };
    const nearEntry = this.near.get(queueOffset);
    const waiting = nearEntry !== undefined || (queueOffset < this.indexedQueueOffset && dueSecondOf(dueMs) >= this.windowEndSecond && !this.dispatching.has(queueOffset));
    if (!waiting) throw new RmqError('ALREADY_DELIVERED', { messageId: target.messageId, topic, deliverAt: new Date(dueMs).toISOString() });
    if (nearEntry) this.takeNear(nearEntry).cancelled = true;
    this.recalling.set(queueOffset, dueMs);
    try {
      await this.options.store.append([recallInput(queueOffset, this.options.clock.nowMs())]);
    } catch (error) {
      if (nearEntry) this.requeue(nearEntry);
      throw error;
    } finally {
      this.recalling.delete(queueOffset);
    }
    if (!nearEntry) this.recalled.add(queueOffset);
    this.recentRecalls.add(queueOffset);
    if (this.recentRecalls.size > MESSAGING_LIMITS.timerRecentRecallsMax) this.recentRecalls.delete(this.recentRecalls.values().next().value as number);
    this.pendingCount--;
    this.recalledCount++;
    return { messageId: target.messageId };
  }

  stats(): TimerStats {
    return { pending: this.pendingCount, inMemory: this.heap.size + this.resolving.size, onDisk: this.buckets.entryCount, delivered: this.deliveredCount, recalled: this.recalledCount };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening();
    clearInterval(this.tick);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.buckets.settled();
  }

  /** Rebuilds the pending set from the log: the last mark, every recall, the schedules' index. */
  private async recover(): Promise<void> {
    const { store } = this.options;
    const { markQueueOffset, markDueMs, recalls } = await readTimerProgress(store);
    this.tailReputs = new TailReputs(store);
    this.lastMark = { queueOffset: markQueueOffset, dueMs: markDueMs };
    const { maxQueueOffset } = store.queueRange(TIMER_TOPIC, TIMER_QUEUE.schedules);
    this.queueOffsetAtStart = maxQueueOffset; // before any is placed: their reads start at once
    for (let from = 0; from < maxQueueOffset; ) {
      const entries = await store.queueEntries(TIMER_TOPIC, TIMER_QUEUE.schedules, from, MESSAGING_LIMITS.timerRecoveryChunk);
      if (entries.length === 0) break;
      const pending = entries.filter((entry) => !recalls.has(entry.queueOffset) && !(entry.queueOffset < markQueueOffset && (entry.tagHash + 1) * 1000 <= markDueMs));
      this.place(pending.map((entry) => ({ queueOffset: entry.queueOffset, logOffset: entry.logOffset, sizeBytes: entry.sizeBytes, dueSecond: entry.tagHash })));
      from = entries[entries.length - 1].queueOffset + 1;
      this.indexedQueueOffset = from;
    }
    this.indexedQueueOffset = Math.max(this.indexedQueueOffset, maxQueueOffset);
    await this.buckets.settled();
  }

  /** Takes in schedules confirmed since the last pass (one pass at a time). */
  private indexNew(): Promise<void> {
    if (this.indexRunning) {
      this.indexAgain = true;
      return this.indexRunning;
    }
    this.indexRunning = (async () => {
      do {
        this.indexAgain = false;
        for (;;) {
          const entries = await this.options.store.queueEntries(TIMER_TOPIC, TIMER_QUEUE.schedules, this.indexedQueueOffset, MESSAGING_LIMITS.timerRecoveryChunk);
          if (entries.length === 0) break;
          this.indexedQueueOffset = entries[entries.length - 1].queueOffset + 1;
          this.place(entries.map((entry) => ({ queueOffset: entry.queueOffset, logOffset: entry.logOffset, sizeBytes: entry.sizeBytes, dueSecond: entry.tagHash })));
        }
      } while (this.indexAgain);
    })().finally(() => {
      this.indexRunning = undefined;
    });
    return this.indexRunning;
  }

  /** Puts new pending schedules where they belong: memory when due soon, else their bucket. */
  private place(entries: BucketEntry[]): void {
    const nearEntries: BucketEntry[] = [];
    const byBucket = new Map<number, BucketEntry[]>();
    for (const entry of entries) {
      this.pendingCount++;
      if (entry.dueSecond < this.windowEndSecond) {
        nearEntries.push(entry);
        continue;
      }
      const bucket = this.buckets.bucketOf(entry.dueSecond);
      const cache = this.caches.get(bucket);
      if (cache) {
        const list = cache.added.get(entry.dueSecond);
        if (list) list.push(entry);
        else cache.added.set(entry.dueSecond, [entry]);
        continue;
      }
      const list = byBucket.get(bucket);
      if (list) list.push(entry);
      else byBucket.set(bucket, [entry]);
    }
    for (const [bucket, list] of byBucket) this.buckets.append(bucket, list).catch(this.options.onError);
    if (nearEntries.length > 0) void this.resolve(nearEntries).catch(this.options.onError);
  }

  /** Reads the records of schedules due soon and puts them on the heap. */
  private resolve(entries: BucketEntry[]): Promise<void> {
    for (const entry of entries) {
      this.resolving.set(entry.queueOffset, entry.dueSecond);
      this.resolvingBySecond.set(entry.dueSecond, (this.resolvingBySecond.get(entry.dueSecond) ?? 0) + 1);
    }
    const work = this.resolveNow(entries).finally(() => this.resolvingWork.delete(work));
    this.resolvingWork.add(work);
    return work;
  }

  private async resolveNow(entries: BucketEntry[]): Promise<void> {
    for (let at = 0; at < entries.length; at += MESSAGING_LIMITS.timerReadSpanMax) {
      const chunk = entries.slice(at, at + MESSAGING_LIMITS.timerReadSpanMax);
      const records = await readSchedules(this.options.store, chunk.map((entry) => entry.queueOffset));
      for (const { queueOffset } of chunk) {
        this.resolved(queueOffset);
        if (this.recalled.delete(queueOffset)) continue; // recalled while it was read
        const record = records.get(queueOffset);
        if (!record) {
          this.pendingCount--; // deleted by retention: the delay was longer than the log is kept
          continue;
        }
        const dueMs = dueMsOf(record);
        if (queueOffset < this.lastMark.queueOffset && dueMs < this.lastMark.dueMs) {
          this.pendingCount--; // settled before the start: recovery kept the mark's own second, whose schedules the index dates only to the second
          continue;
        }
        // Whichever way it came here: one due in the start's own second waited in its bucket.
        const checkDuplicate = queueOffset < this.queueOffsetAtStart && dueMs <= this.startMs;
        this.requeue({ dueMs, queueOffset, record, checkDuplicate, cancelled: false });
      }
      this.wake();
    }
  }

  private resolved(queueOffset: number): void {
    const second = this.resolving.get(queueOffset);
    if (second === undefined) return;
    this.resolving.delete(queueOffset);
    const left = (this.resolvingBySecond.get(second) ?? 1) - 1;
    if (left > 0) this.resolvingBySecond.set(second, left);
    else this.resolvingBySecond.delete(second);
  }

  private requeue(entry: NearEntry): void {
    entry.cancelled = false;
    this.heap.push(entry);
    this.near.set(entry.queueOffset, entry);
    this.heldBytes += entry.record.sizeBytes;
  }

  /** Out of `near` (dispatched or recalled); a recalled one stays in the heap, marked cancelled. */
  private takeNear(entry: NearEntry): NearEntry {
    this.near.delete(entry.queueOffset);
    this.heldBytes -= entry.record.sizeBytes;
    return entry;
  }

  /** Moves the window: the schedules of the next second(s) come from their bucket into memory. */
  private async advance(): Promise<void> {
    if (this.advanceRunning || this.closed) return;
    this.advanceRunning = true;
    try {
      const target = dueSecondOf(this.options.clock.nowMs() + MESSAGING_LIMITS.timerLookaheadMs);
      while (this.windowEndSecond <= target && !this.closed) {
        const second = this.windowEndSecond;
        // Records held for the coming seconds are bounded; a second that is already due is read regardless.
        if (this.heldBytes >= MESSAGING_LIMITS.timerHeldBytesMax && second * 1000 > this.options.clock.nowMs()) break;
        const bucket = this.buckets.bucketOf(second);
        const cache = this.cacheOf(bucket);
        const loaded = await cache.loaded;
        if (this.windowEndSecond !== second) continue;
        const entries = [...loaded.take(second), ...(cache.added.get(second) ?? [])].filter((entry) => !this.recalled.delete(entry.queueOffset));
        cache.added.delete(second);
        this.windowEndSecond = second + 1;
        if (this.buckets.bucketOf(second + 1) !== bucket) this.caches.delete(bucket);
        if (entries.length > 0) await this.resolve(entries);
      }
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.advanceRunning = false;
    }
    this.wake();
  }

  private cacheOf(bucket: number): BucketCache {
    let cache = this.caches.get(bucket);
    if (!cache) {
      cache = { loaded: this.buckets.take(bucket), added: new Map() };
      this.caches.set(bucket, cache);
    }
    return cache;
  }

  /** Dispatches what is due now, or sets a timer for the next due schedule. */
  private wake(): void {
    if (this.closed || this.dispatchesInFlight >= MESSAGING_LIMITS.timerDispatchesInFlightMax) return;
    const next = this.peekLive();
    if (!next) return;
    const waitMs = next.dueMs - this.options.clock.nowMs();
    if (waitMs <= 0) {
      void this.dispatch();
      return;
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wake();
    }, Math.min(waitMs, MESSAGING_LIMITS.timerTickMs));
  }

  private peekLive(): NearEntry | undefined {
    let top = this.heap.peek();
    while (top && top.cancelled) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }

  private async dispatch(): Promise<void> {
    this.dispatchesInFlight++;
    const nowMs = this.options.clock.nowMs();
    const batch: NearEntry[] = [];
    for (let top = this.peekLive(); top && top.dueMs <= nowMs && batch.length < MESSAGING_LIMITS.timerDispatchBatchMax; top = this.peekLive()) {
      this.heap.pop();
      this.takeNear(top);
      this.dispatching.set(top.queueOffset, top.dueMs);
      batch.push(top);
    }
    try {
      const inputs: AppendInput[] = [];
      const delivered: NearEntry[] = [];
      for (const entry of batch) {
        const topic = realTopicOf(entry.record);
        const queueCount = this.options.queueCountOf(topic);
        if (queueCount === undefined) {
          this.options.onDropped?.(topic, entry.record.properties.get(SYSTEM_PROPERTY.messageId) ?? '');
          continue;
        }
        if (entry.checkDuplicate && (await this.tailReputs.has(realTopicOf(entry.record), entry.queueOffset % queueCount, entry.queueOffset))) continue;
        inputs.push(reputInput(entry.record, queueCount));
        delivered.push(entry);
      }
      // An earlier dispatch still in flight is not settled as far as this mark knows.
      let markDueMs = this.markDueMs();
      const own = new Set(batch.map((entry) => entry.queueOffset));
      for (const [queueOffset, dueMs] of this.dispatching) if (!own.has(queueOffset)) markDueMs = Math.min(markDueMs, dueMs);
      inputs.push(markInput(this.indexedQueueOffset, markDueMs, nowMs));
      await this.options.store.append(inputs);
      const doneMs = this.options.clock.nowMs();
      this.pendingCount -= batch.length;
      this.deliveredCount += delivered.length;
      for (const entry of delivered) this.options.onDelivered?.(realTopicOf(entry.record), doneMs - entry.dueMs);
    } catch (error) {
      for (const entry of batch) this.requeue(entry);
      this.options.onError(error);
      await delay(MESSAGING_LIMITS.timerTickMs);
    } finally {
      for (const entry of batch) this.dispatching.delete(entry.queueOffset);
      this.dispatchesInFlight--;
    }
    this.wake();
  }

  /** Everything not yet settled is due at or after this (the heap, reads in progress, recalls being written, the buckets). */
  private markDueMs(): number {
    let dueMs = this.windowEndSecond * 1000;
    const top = this.heap.peek();
    if (top) dueMs = Math.min(dueMs, top.dueMs);
    for (const second of this.resolvingBySecond.keys()) dueMs = Math.min(dueMs, second * 1000);
    for (const recallingDueMs of this.recalling.values()) dueMs = Math.min(dueMs, recallingDueMs);
    return dueMs;
  }
}
