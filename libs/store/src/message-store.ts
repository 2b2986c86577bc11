// The message store: appends batches of records to the commit log, indexes them per queue,
// and serves reads by queue offset. Ordering rules it keeps:
//   - a record is acknowledged (append resolves) only after it reached the OS (async mode) or
//     the disk (sync mode, one fdatasync shared by every append in the batch: group commit);
//   - a record is indexed, and so readable, only once confirmed: readers never see data that a
//     crash could take back;
//   - queue offsets of one queue are consecutive and follow log order.
// Retention (retention.ts) deletes old segments; the message index (message-index.ts) answers
// lookups by id and key. Both hook in at a few marked places ("retention:", "index:").
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, isRmqError, RmqError, systemClock, type Clock } from '@rmq/base';
import { CommitLog, placeRecord, type RecoveryReport } from './commit-log';
import { parseShippedRecords, type ShippedRecord } from './shipped-records';
import type { ConsumeQueue, QueueEntry } from './consume-queue';
import { BLANK_RECORD_BYTES_MIN, checkRecord, decodeRecord, encodeBlankInto, encodeRecordInto, encodedSizeBytes, type RecordInput, type StoredRecord } from './record';
import { AppendBuffer } from './append-buffer';
import { planReadSpans, type RecordLocation } from './read-spans';
import { writeJsonAtomic } from './state-file';
import { queueIn, queueKey } from './queue-table';
import { checkpointQueueName, recoverStore, type Checkpoint } from './store-recovery';
import { STORE_LIMITS } from './limits';
import { indexKeysOf, MessageIndex, type IndexedProperties, type IndexKeys, type IndexLocation, type KeyQuery } from './message-index';
import { diskUsageOf, retentionPolicyOf, RetentionRunner, type DiskUsage, type RetentionDecision, type RetentionEvent, type RetentionStats } from './retention';
import { rebuildIndex, type ScanReport } from './log-scan';

export type FlushMode = 'sync' | 'async';

export interface StoreOptions {
  dataDir: string;
  flushMode: FlushMode;
  segmentSizeBytes?: number;
  /** async mode: how often written data is fdatasynced. */
  flushIntervalMs?: number;
  /** How often queue files are persisted and the checkpoint advanced. */
  checkpointIntervalMs?: number;
  clock?: Clock;
  onEvent?: (event: StoreEvent) => void;

  // Retention (retention.ts); defaults in STORE_LIMITS are RocketMQ's.
  /** A segment last written longer ago than this is deleted (RocketMQ fileReservedTime, 72 h). */
  retentionMs?: number;
  /** Above this disk usage the oldest segments are deleted before they expire (0.75). */
  diskUsageHighWaterRatio?: number;
  /** At or above this disk usage appends fail with STORE_FULL until it drops (0.90). */
  diskUsageHardLimitRatio?: number;
  retentionCheckIntervalMs?: number;
  /** Usage of the disk holding the store; statfs of dataDir unless given (tests fake a full disk). */
  diskUsage?: () => Promise<DiskUsage>;

  // Message index (message-index.ts).
  /** The record properties holding the message id and keys; without them there is no index. */
  indexedProperties?: IndexedProperties;
  indexEntryCountMax?: number;
  /** How much of the newest log is scanned at start to refill the index (0: none). */
  indexRebuildScanBytesMax?: number;
}

type OptionalSettings = 'onEvent' | 'indexedProperties';
type StoreSettings = Required<Omit<StoreOptions, OptionalSettings>> & Pick<StoreOptions, OptionalSettings>;

export type StoreEvent =
  | { kind: 'recovered'; report: RecoveryReport; durationMs: number; cleanShutdown: boolean }
  | { kind: 'flushed'; durationMs: number }
  | { kind: 'writeFailed'; error: unknown }
  /** One per fdatasync of a commit log segment (group commit or periodic flush): fsync latency. */
  | { kind: 'fsync'; segmentStartLogOffset: number; durationMs: number }
  | { kind: 'indexRebuilt'; report: ScanReport; durationMs: number; entryCount: number }
  /** Queue files ("topic/queueId") were missing or short: recovery re-reads the whole log. */
  | { kind: 'queuesRebuilding'; queues: string[] }
  | RetentionEvent;

export type AppendInput = RecordInput;

export interface AppendResult {
  logOffset: number;
  queueOffset: number;
  storeTimestampMs: number;
}

export interface ReadOptions {
  countMax: number;
  sizeBytesMax?: number;
  /** Tag filter on the index: entries whose tag hash is rejected are skipped without reading. */
  acceptTagHash?: (tagHash: number) => boolean;
}

export interface ReadResult {
  records: StoredRecord[];
  /** Where the next read of this queue should start. */
  nextQueueOffset: number;
}

export interface StoreStats {
  flushMode: FlushMode;
  logEndOffset: number;
  confirmedLogOffset: number;
  flushedLogOffset: number;
  queueCount: number;
  appendedRecords: number;
  lastRecovery?: { durationMs: number; recordsReplayed: number; cleanShutdown: boolean };
  /** First log offset still on disk (retention moves it). */
  logMinOffset: number;
  /** Bytes of log on disk: logEndOffset - logMinOffset (segment tails included). */
  logSizeBytes: number;
  /** Confirmed but not yet fdatasynced (async mode; 0 in sync mode). */
  flushLagBytes: number;
  /** Reserved and being written, not yet confirmed, so not yet in the queues and index. */
  dispatchLagBytes: number;
  /** Confirmed but not yet covered by the checkpoint (what recovery would replay). */
  checkpointLagBytes: number;
  retention: RetentionStats;
  index?: { entryCount: number; entryCountMax: number; evictedEntryCount: number };
}

interface PendingAppend {
  /** Set when the entry ends past its last record (a replicated stretch ending in a blank). */
  endLogOffset?: number;
  placements: {
    queue: ConsumeQueue; logOffset: number; sizeBytes: number; tagHash: number; queueOffset: number;
    storeTimestampMs: number; indexKeys: IndexKeys | undefined; // index: added at confirm
  }[];
  results: AppendResult[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}


export class MessageStore {
  private readonly queues = new Map<string, ConsumeQueue>();
  private readonly nextQueueOffsets = new Map<string, number>();
  private readonly listeners = new Set<(topic: string, queueId: number) => void>();
  private pending: PendingAppend[] = [];
  private readonly appendBuffer: AppendBuffer;
  private writing: Promise<void> | undefined;
  private dirtySegments = new Set<number>();
  private confirmedLogOffsetValue: number;
  private flushedLogOffsetValue: number;
  private appendedRecords = 0;
  private failure: RmqError | undefined;
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  private lastRecovery: StoreStats['lastRecovery'];
  // retention / index / observability (see the section at the end of the class)
  private checkpointedLogOffset: number;
  private checkpointing: Promise<void> | undefined;
  /** truncateTo() is cutting the log back: appends are refused and timers skip meanwhile. */
  private truncating = false;
  private flushing: Promise<void> | undefined;
  private readonly retention: RetentionRunner;
  private readonly index: MessageIndex | undefined;

  private constructor(
    private readonly options: StoreSettings,
    private readonly log: CommitLog,
  ) {
    this.confirmedLogOffsetValue = log.endOffset;
    this.flushedLogOffsetValue = log.endOffset;
    this.appendBuffer = new AppendBuffer(log.segmentSizeBytes);
    this.checkpointedLogOffset = 0;
    log.onDatasync = (segmentStartLogOffset, durationMs) => options.onEvent?.({ kind: 'fsync', segmentStartLogOffset, durationMs });
    this.index = options.indexedProperties ? new MessageIndex(options.indexEntryCountMax) : undefined;
    this.retention = new RetentionRunner({
      log,
      policy: retentionPolicyOf(options),
      clock: options.clock,
      diskUsage: options.diskUsage,
      deletableBelowLogOffset: () => Math.min(this.checkpointedLogOffset, this.confirmedLogOffsetValue),
      onLogMinAdvanced: (minLogOffset) => this.dropBelowLogOffset(minLogOffset),
      onEvent: (event) => options.onEvent?.(event),
    });
  }

  static async open(options: StoreOptions): Promise<MessageStore> {
    const settings: StoreSettings = {
      segmentSizeBytes: STORE_LIMITS.segmentSizeBytesDefault,
      flushIntervalMs: STORE_LIMITS.flushIntervalMsDefault,
      checkpointIntervalMs: STORE_LIMITS.checkpointIntervalMsDefault,
      clock: systemClock,
      retentionMs: STORE_LIMITS.retentionMsDefault,
      diskUsageHighWaterRatio: STORE_LIMITS.diskUsageHighWaterRatioDefault,
      diskUsageHardLimitRatio: STORE_LIMITS.diskUsageHardLimitRatioDefault,
      retentionCheckIntervalMs: STORE_LIMITS.retentionCheckIntervalMsDefault,
      diskUsage: () => diskUsageOf(options.dataDir),
      indexEntryCountMax: STORE_LIMITS.indexEntryCountMaxDefault,
      indexRebuildScanBytesMax: STORE_LIMITS.indexRebuildScanBytesMaxDefault,
      ...withoutUndefined(options),
    };
    const startedMs = Date.now();
    const { log, queues, report, cleanShutdown } = await recoverStore(settings);
    const store = new MessageStore(settings, log);
    for (const [key, queue] of queues) {
      store.queues.set(key, queue);
      store.nextQueueOffsets.set(key, queue.count);
    }
    await writeFile(join(settings.dataDir, 'abort'), String(process.pid));
    await store.checkpoint();
    const durationMs = Date.now() - startedMs;
    store.lastRecovery = { durationMs, recordsReplayed: report.recordsReplayed, cleanShutdown };
    settings.onEvent?.({ kind: 'recovered', report, durationMs, cleanShutdown });
    await store.startRetentionAndIndex(); // retention / index
    const checkpointTick = () => store.checkpointing ?? (store.truncating ? undefined : store.checkpoint().catch((error) => store.fail(error)));
    store.timers.push(setInterval(checkpointTick, settings.checkpointIntervalMs).unref());
    store.timers.push(setInterval(() => void (store.truncating ? undefined : store.retention.run()), settings.retentionCheckIntervalMs).unref()); // retention
    if (settings.flushMode === 'async') {
      store.timers.push(setInterval(() => void (store.truncating ? undefined : store.flushDirty().catch((error) => store.fail(error))), settings.flushIntervalMs).unref());
    }
    return store;
  }

  /** Appends records in order; resolves once they are durable under the flush mode. */
  append(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new RmqError('STORE_CLOSED'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.retention.writeRefusal) return Promise.reject(this.retention.writeRefusal); // retention: disk past the hard limit
    if (this.truncating) return Promise.reject(truncatingError());
    // Every record is checked before anything is reserved: a batch is appended whole or not at all.
    const sizes = inputs.map(encodedSizeBytes);
    const recordBytesMax = this.log.segmentSizeBytes - BLANK_RECORD_BYTES_MIN;
    const tooLarge = sizes.findIndex((sizeBytes) => sizeBytes > recordBytesMax);
    if (tooLarge >= 0) {
      return Promise.reject(new RmqError('BAD_REQUEST', { reason: `a record of ${sizes[tooLarge]} bytes does not fit in a commit log segment of ${this.log.segmentSizeBytes} bytes` }));
    }
    const storeTimestampMs = this.options.clock.nowMs();
    const entry: PendingAppend = { placements: [], results: [], resolve: () => {}, reject: () => {} };
    for (const [index, input] of inputs.entries()) {
      const sizeBytes = sizes[index];
      const { logOffset, blank } = this.log.reserve(sizeBytes);
      if (blank) {
        const room = this.appendBuffer.claim(blank.logOffset, BLANK_RECORD_BYTES_MIN);
        encodeBlankInto(room.buffer, room.at, blank.sizeBytes);
      }
      const key = queueKey(input.topic, input.queueId);
      const queueOffset = this.nextQueueOffsets.get(key) ?? 0;
      this.nextQueueOffsets.set(key, queueOffset + 1);
      const room = this.appendBuffer.claim(logOffset, sizeBytes);
      encodeRecordInto(room.buffer, room.at, input, { logOffset, queueOffset, storeTimestampMs }, sizeBytes);
      const queue = queueIn(this.queues, this.options.dataDir, input.topic, input.queueId);
      const indexKeys = this.options.indexedProperties && indexKeysOf(input.properties, this.options.indexedProperties);
      entry.placements.push({ queue, logOffset, sizeBytes, tagHash: input.tagHash, queueOffset, storeTimestampMs, indexKeys });
      entry.results.push({ logOffset, queueOffset, storeTimestampMs });
    }
    return this.enqueue(entry);
  }

  private enqueue(entry: PendingAppend): Promise<AppendResult[]> {
    const done = new Promise<AppendResult[]>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.pending.push(entry);
    this.writing ??= this.writeLoop();
    return done;
  }

  /**
   * The slave's path (replication): appends a stretch of another store's log, shipped as its
   * segment files hold it, from `atLogOffset`, which must be this log's end. Every record is
   * checked (CRC, offsets) and must land where the master put it, at the next offset of its
   * queue; then it is written byte for byte, durable and confirmed like any append.
   */
  appendReplicated(atLogOffset: number, bytes: Buffer): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new RmqError('STORE_CLOSED'));
    if (this.failure) return Promise.reject(this.failure);
    if (this.retention.writeRefusal) return Promise.reject(this.retention.writeRefusal);
    if (this.truncating) return Promise.reject(truncatingError());
    if (atLogOffset !== this.log.endOffset) {
      return Promise.reject(new RmqError('BAD_REQUEST', { reason: `replicated bytes start at log offset ${atLogOffset}, but this log ends at ${this.log.endOffset}` }));
    }
    let shipped: ShippedRecord[];
    let shippedEnd: number;
    try {
      ({ records: shipped, endLogOffset: shippedEnd } = parseShippedRecords(bytes, atLogOffset, this.log.segmentSizeBytes));
      // Checked in full before anything changes: offsets as this log would place them, queue offsets in sequence.
      let end = atLogOffset;
      const next = new Map<string, number>();
      for (const { record } of shipped) {
        const placed = placeRecord(end, record.sizeBytes, this.log.segmentSizeBytes).logOffset;
        const key = queueKey(record.topic, record.queueId);
        const expected = next.get(key) ?? this.nextQueueOffsets.get(key) ?? 0;
        if (placed !== record.logOffset) throw new RmqError('BAD_REQUEST', { reason: `record at log offset ${record.logOffset} would be placed at ${placed} here (different segment sizes?)` });
        if (record.queueOffset !== expected) throw new RmqError('BAD_REQUEST', { reason: `record at log offset ${record.logOffset} has queue offset ${record.queueOffset} in ${record.topic}/${record.queueId}; this store expects ${expected}` });
        next.set(key, expected + 1);
        end = record.logOffset + record.sizeBytes;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const entry: PendingAppend = { placements: [], results: [], resolve: () => {}, reject: () => {} };
    for (const { record, bytes: recordBytes } of shipped) {
      const { logOffset, blank } = this.log.reserve(record.sizeBytes);
      assert(logOffset === record.logOffset, 'replicated record placed elsewhere than checked', { logOffset, expected: record.logOffset });
      if (blank) {
        const room = this.appendBuffer.claim(blank.logOffset, BLANK_RECORD_BYTES_MIN);
        encodeBlankInto(room.buffer, room.at, blank.sizeBytes);
      }
      const key = queueKey(record.topic, record.queueId);
      this.nextQueueOffsets.set(key, record.queueOffset + 1);
      const room = this.appendBuffer.claim(logOffset, record.sizeBytes);
      recordBytes.copy(room.buffer, room.at);
      const queue = queueIn(this.queues, this.options.dataDir, record.topic, record.queueId);
      const indexKeys = this.options.indexedProperties && indexKeysOf(record.properties, this.options.indexedProperties);
      entry.placements.push({ queue, logOffset, sizeBytes: record.sizeBytes, tagHash: record.tagHash, queueOffset: record.queueOffset, storeTimestampMs: record.storeTimestampMs, indexKeys });
      entry.results.push({ logOffset, queueOffset: record.queueOffset, storeTimestampMs: record.storeTimestampMs });
    }
    if (shippedEnd > this.log.endOffset) {
      // The stretch ended with a blank: this log's segment ends there too.
      const blank = this.log.padSegment();
      assert(blank !== undefined && this.log.endOffset === shippedEnd, 'replicated blank does not end the segment', { shippedEnd, logEndOffset: this.log.endOffset });
      const room = this.appendBuffer.claim(blank.logOffset, BLANK_RECORD_BYTES_MIN);
      encodeBlankInto(room.buffer, room.at, blank.sizeBytes);
      entry.endLogOffset = shippedEnd;
    }
    return this.enqueue(entry);
  }

  /**
   * Cuts the log back to `logOffset`, a record boundary at or below the confirmed end (a slave
   * whose log ran ahead of the new master's, after a failover): queues forget the entries from
   * there, the index is rebuilt, and a checkpoint is written at once. Appends wait meanwhile.
   */
  async truncateTo(logOffset: number): Promise<void> {
    if (this.closed) throw new RmqError('STORE_CLOSED');
    await this.writing;
    if (this.pending.length > 0 || this.writing || this.truncating) throw new RmqError('TOO_MANY_REQUESTS', { reason: 'the log can only be cut back while no append is in flight' });
    this.truncating = true;
    try {
      await this.checkpointing; // no queue file or segment may be written while the log is cut
      await this.flushing;
      await this.retention.whenIdle();
      const end = this.confirmedLogOffsetValue;
      if (logOffset > end || logOffset < this.log.minOffset) {
        throw new RmqError('BAD_REQUEST', { reason: `log offset ${logOffset} is outside the log [${this.log.minOffset}, ${end}]` });
      }
      if (logOffset < end && logOffset % this.log.segmentSizeBytes !== 0) {
        const header = await this.log.readUpTo(logOffset, 8);
        const sizeBytes = header.length === 8 ? header.readUInt32BE(0) : 0;
        const candidate = sizeBytes > 0 && logOffset + sizeBytes <= end ? await this.log.readUpTo(logOffset, sizeBytes) : Buffer.alloc(0);
        const check = checkRecord(candidate, 0, logOffset);
        if (check.kind !== 'record' && check.kind !== 'blank') throw new RmqError('BAD_REQUEST', { reason: `log offset ${logOffset} is not where a record starts` });
      }
      await this.log.truncateTo(logOffset);
      this.appendBuffer.reset();
      for (const [key, queue] of this.queues) {
        queue.truncateFromLogOffset(logOffset);
        this.nextQueueOffsets.set(key, queue.count);
      }
      this.confirmedLogOffsetValue = logOffset;
      this.flushedLogOffsetValue = Math.min(this.flushedLogOffsetValue, logOffset);
      this.checkpointedLogOffset = Math.min(this.checkpointedLogOffset, logOffset);
      this.dirtySegments.clear();
      if (this.index && this.options.indexedProperties) {
        this.index.dropBelow(Number.MAX_SAFE_INTEGER); // forget it all, then refill from the log that stays
        await rebuildIndex(this.log, this.index, this.options.indexedProperties, logOffset, this.options.indexRebuildScanBytesMax);
      }
      await this.checkpoint();
    } finally {
      this.truncating = false;
    }
  }

  async read(topic: string, queueId: number, fromQueueOffset: number, options: ReadOptions): Promise<ReadResult> {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return { records: [], nextQueueOffset: fromQueueOffset };
    const sizeBytesMax = options.sizeBytesMax ?? STORE_LIMITS.readSizeBytesMax;
    // retention: a read below the queue's first entry starts at that entry.
    let queueOffset = Math.max(queue.minQueueOffset, fromQueueOffset);
    const scanEnd = Math.min(queue.count, queueOffset + STORE_LIMITS.readScanEntriesMax);
    const chosen: RecordLocation[] = [];
    let sizeBytes = 0;
    while (queueOffset < scanEnd && chosen.length < options.countMax && sizeBytes < sizeBytesMax) {
      const entry = queue.entry(queueOffset);
      queueOffset++;
      if (!entry || entry.logOffset < this.log.minOffset) continue; // retention: deleted meanwhile
      if (options.acceptTagHash && !options.acceptTagHash(entry.tagHash)) continue;
      chosen.push(entry);
      sizeBytes += entry.sizeBytes;
    }
    const records: (StoredRecord | undefined)[] = new Array(chosen.length);
    for (const span of planReadSpans(chosen, this.log.segmentSizeBytes, STORE_LIMITS.readGapBytesMax, STORE_LIMITS.readSpanBytesMax)) {
      let bytes: Buffer;
      try {
        bytes = await this.log.read(span.logOffset, span.sizeBytes);
      } catch (error) {
        if (isRmqError(error, 'NOT_FOUND') && span.logOffset < this.log.minOffset) continue; // retention: deleted during the read
        throw error;
      }
      for (const member of span.members) {
        const at = chosen[member].logOffset - span.logOffset;
        records[member] = decodeRecord(bytes.subarray(at, at + chosen[member].sizeBytes));
      }
    }
    return { records: records.filter((record): record is StoredRecord => record !== undefined), nextQueueOffset: queueOffset };
  }

  /** Reads the record at a log offset (from a receipt handle, for one). */
  async readAt(logOffset: number, sizeBytes: number): Promise<StoredRecord> {
    assert(logOffset + sizeBytes <= this.confirmedLogOffsetValue, 'read beyond the confirmed log', { logOffset, sizeBytes });
    if (logOffset < this.log.minOffset) throw new RmqError('NOT_FOUND', { what: 'message at log offset', name: `${logOffset} (deleted by retention)` });
    return decodeRecord(await this.log.read(logOffset, sizeBytes));
  }

  /**
   * Index entries of a queue from `fromQueueOffset` (at most `countMax`), without reading the log:
   * for system queues whose tag hash carries a value of their own (a delay message's due second).
   */
  queueEntries(topic: string, queueId: number, fromQueueOffset: number, countMax: number): (QueueEntry & { queueOffset: number })[] {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return [];
    const entries: (QueueEntry & { queueOffset: number })[] = [];
    const end = Math.min(queue.count, Math.max(queue.minQueueOffset, fromQueueOffset) + countMax);
    for (let queueOffset = Math.max(queue.minQueueOffset, fromQueueOffset); queueOffset < end; queueOffset++) {
      const entry = queue.entry(queueOffset);
      if (entry && entry.logOffset >= this.log.minOffset) entries.push({ ...entry, queueOffset });
    }
    return entries;
  }

  /** Queue offsets [min, max) readable now; max is the offset the next message will get. */
  queueRange(topic: string, queueId: number): { minQueueOffset: number; maxQueueOffset: number } {
    const queue = this.queues.get(queueKey(topic, queueId));
    return { minQueueOffset: queue?.minQueueOffset ?? 0, maxQueueOffset: queue?.count ?? 0 };
  }

  queueList(): { topic: string; queueId: number; count: number }[] {
    return [...this.queues.values()].map((queue) => ({ topic: queue.topic, queueId: queue.queueId, count: queue.count }));
  }

  /** Called after new records of a queue became readable (to wake long polls). */
  onConfirmed(listener: (topic: string, queueId: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get confirmedLogOffset(): number {
    return this.confirmedLogOffsetValue;
  }

  stats(): StoreStats {
    return {
      flushMode: this.options.flushMode,
      logEndOffset: this.log.endOffset,
      confirmedLogOffset: this.confirmedLogOffsetValue,
      flushedLogOffset: this.flushedLogOffsetValue,
      queueCount: this.queues.size,
      appendedRecords: this.appendedRecords,
      lastRecovery: this.lastRecovery,
      logMinOffset: this.log.minOffset,
      logSizeBytes: this.log.endOffset - this.log.minOffset,
      flushLagBytes: this.confirmedLogOffsetValue - this.flushedLogOffsetValue,
      dispatchLagBytes: this.log.endOffset - this.confirmedLogOffsetValue,
      checkpointLagBytes: Math.max(0, this.confirmedLogOffsetValue - this.checkpointedLogOffset),
      retention: this.retention.stats(),
      index: this.index && { entryCount: this.index.entryCount, entryCountMax: this.index.entryCountMax, evictedEntryCount: this.index.evictedEntryCount },
    };
  }

  /** Finishes pending appends, flushes everything and marks the shutdown clean. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.retention.whenIdle(); // retention: lets a pass in flight finish
    await this.writing;
    await this.flushing;
    await this.flushDirty();
    await this.checkpoint();
    for (const queue of this.queues.values()) await queue.close();
    await this.log.close();
    if (!this.failure) await rm(join(this.options.dataDir, 'abort'), { force: true });
  }

  private async writeLoop(): Promise<void> {
    await null; // lets append() record this loop before it can finish
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const chunks = this.appendBuffer.take();
        if (this.failure) {
          for (const entry of batch) entry.reject(this.failure);
          continue;
        }
        try {
          const touched = await this.log.write(chunks);
          if (this.options.flushMode === 'sync') await this.log.datasync(touched);
          else for (const start of touched) this.dirtySegments.add(start);
        } catch (error) {
          this.fail(error);
          for (const entry of batch) entry.reject(this.failure);
          continue;
        }
        this.confirm(batch);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private confirm(batch: PendingAppend[]): void {
    const woken = new Set<ConsumeQueue>();
    for (const entry of batch) {
      for (const placement of entry.placements) {
        const queueOffset = placement.queue.append(placement);
        assert(queueOffset === placement.queueOffset, 'queue offset drifted from its reservation', { queueOffset, reserved: placement.queueOffset });
        if (placement.indexKeys) this.index?.add({ topic: placement.queue.topic, logOffset: placement.logOffset, sizeBytes: placement.sizeBytes, storeTimestampMs: placement.storeTimestampMs }, placement.indexKeys); // index
        this.confirmedLogOffsetValue = placement.logOffset + placement.sizeBytes;
        woken.add(placement.queue);
      }
      this.appendedRecords += entry.placements.length;
      if (entry.endLogOffset !== undefined) this.confirmedLogOffsetValue = Math.max(this.confirmedLogOffsetValue, entry.endLogOffset);
    }
    if (this.options.flushMode === 'sync') this.flushedLogOffsetValue = this.confirmedLogOffsetValue;
    for (const entry of batch) entry.resolve(entry.results);
    for (const queue of woken) for (const listener of this.listeners) listener(queue.topic, queue.queueId);
  }

  /** Flushes one at a time, so the flushed offset never passes a sync still in flight. */
  private flushDirty(): Promise<void> {
    this.flushing ??= this.flushDirtyNow().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushDirtyNow(): Promise<void> {
    if (this.dirtySegments.size === 0) return;
    const startedMs = Date.now();
    const target = this.confirmedLogOffsetValue;
    const segments = [...this.dirtySegments];
    this.dirtySegments.clear();
    await this.log.datasync(segments);
    this.flushedLogOffsetValue = Math.max(this.flushedLogOffsetValue, target);
    this.options.onEvent?.({ kind: 'flushed', durationMs: Date.now() - startedMs });
  }

  /** Checkpoints one at a time: a caller waits for the one in flight, then writes a fresh one. */
  private async checkpoint(): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    this.checkpointing = this.writeCheckpoint();
    try {
      await this.checkpointing;
    } finally {
      this.checkpointing = undefined;
    }
  }

  private async writeCheckpoint(): Promise<void> {
    // The checkpoint never covers log bytes that are not on disk yet (async mode: the flushed
    // offset), so a machine crash cannot leave queue entries below it pointing at lost data.
    const dispatchedLogOffset = Math.min(this.confirmedLogOffsetValue, this.flushedLogOffsetValue);
    const queueCounts: Record<string, number> = {};
    for (const queue of this.queues.values()) queueCounts[checkpointQueueName(queue.topic, queue.queueId)] = queue.countBelowLogOffset(dispatchedLogOffset);
    for (const queue of this.queues.values()) await queue.persist();
    await writeJsonAtomic(join(this.options.dataDir, 'checkpoint.json'), { dispatchedLogOffset, queueCounts } satisfies Checkpoint);
    this.checkpointedLogOffset = Math.max(this.checkpointedLogOffset, dispatchedLogOffset); // retention: deletes only below this
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    const code = (error as NodeJS.ErrnoException).code;
    this.failure = code === 'ENOSPC' ? new RmqError('STORE_FULL', { reason: 'no space left on device' }) : new RmqError('STORE_CLOSED');
    this.options.onEvent?.({ kind: 'writeFailed', error });
  }

  // --- Index, retention and observability (message-index.ts, retention.ts, log-scan.ts) ---------

  /** Records stored with this message id, newest first (usually one). Empty without an index. */
  async findById(messageId: string, options: { topic?: string; countMax?: number } = {}): Promise<StoredRecord[]> {
    if (!this.index) return [];
    const countMax = Math.min(options.countMax ?? STORE_LIMITS.queryCountDefault, STORE_LIMITS.queryCountMax);
    return this.readLocations(this.index.findById(messageId, { topic: options.topic, countMax }));
  }

  /** Records of `topic` stored with `key` within [beginMs, endMs], newest first. Empty without an index. */
  async findByKey(topic: string, key: string, query: KeyQuery = {}): Promise<StoredRecord[]> {
    if (!this.index) return [];
    const countMax = Math.min(query.countMax ?? STORE_LIMITS.queryCountDefault, STORE_LIMITS.queryCountMax);
    return this.readLocations(this.index.findByKey(topic, key, { ...query, countMax }));
  }

  /** Whether a confirmed record with this id is still remembered (duplicate checks; no log read). */
  hasMessageId(messageId: string, topic?: string): boolean {
    return (this.index?.findById(messageId, { topic, countMax: 1 }).length ?? 0) > 0;
  }

  /** Runs a retention pass now (it also runs every retentionCheckIntervalMs). Undefined if it failed. */
  runRetention(): Promise<RetentionDecision | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return this.retention.run();
  }

  private async readLocations(locations: IndexLocation[]): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    for (const location of locations) {
      if (location.logOffset < this.log.minOffset) continue; // its segment was deleted meanwhile
      try {
        records.push(decodeRecord(await this.log.read(location.logOffset, location.sizeBytes)));
      } catch (error) {
        if (!(isRmqError(error, 'NOT_FOUND') && location.logOffset < this.log.minOffset)) throw error; // else: deleted during the read
      }
    }
    return records;
  }

  /** At open, after recovery: queues skip what retention deleted, one pass runs, the index refills. */
  private async startRetentionAndIndex(): Promise<void> {
    this.dropBelowLogOffset(this.log.minOffset);
    await this.retention.run();
    if (this.index && this.options.indexedProperties) {
      const startedMs = Date.now();
      const report = await rebuildIndex(this.log, this.index, this.options.indexedProperties, this.confirmedLogOffsetValue, this.options.indexRebuildScanBytesMax);
      if (report) this.options.onEvent?.({ kind: 'indexRebuilt', report, durationMs: Date.now() - startedMs, entryCount: this.index.entryCount });
    }
  }

  /** Retention deleted the log below `minLogOffset`: queues and index forget what pointed there. */
  private dropBelowLogOffset(minLogOffset: number): void {
    for (const queue of this.queues.values()) queue.advanceMinToLogOffset(minLogOffset);
    this.index?.dropBelow(minLogOffset);
  }
}

/** Options left undefined take their defaults instead of overriding them. */
function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}

function truncatingError(): RmqError {
  return new RmqError('TOO_MANY_REQUESTS', { reason: 'the log is being cut back (after a failover); try again shortly' });
}
