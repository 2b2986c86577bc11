// The message store: a thin facade over its parts. Ordering rules they keep together:
//   - a record is indexed once written (it reached the OS), and acknowledged (append resolves)
//     and readable only once committed (commit-tracker.ts): alone, after it reached the OS
//     (async mode) or the disk (sync mode, one fdatasync shared by every append in the batch:
//     group commit); in a replica group, once every in-sync member has it too. Readers never
//     see data that a crash or a failover could take back;
//   - queue offsets of one queue are consecutive and follow log order.
// Parts: write-path.ts (reservation, append buffer, group commit, confirm), replica-path.ts
// (appendReplicated, truncateTo), checkpoint.ts, store-recovery.ts (open), retention.ts and
// message-index.ts (hooked in at places marked "retention:" and "index:").
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assert, isRmqError, RmqError } from '@rmq/base';
import type { CommitLog } from './commit-log';
import type { ConsumeQueue, QueueEntry } from './consume-queue';
import { readU64, RECORD_HEADER_BYTES, RECORD_MAGIC } from './record';
import { decodeRecord, viewRecord, type StoredRecord } from './record-view';
import { planReadSpans, type RecordLocation } from './read-spans';
import { LogReadCache } from './read-cache';
import { forEachConcurrently, queueKey, type QueueFileSettings } from './queue-table';
import { FileHandlePool } from './file-handle-pool';
import { SyncReads } from './sync-reads';
import { CONSUME_QUEUE_ENTRY_BYTES, entryAt } from './consume-queue';
import { recoverStore } from './store-recovery';
import { STORE_LIMITS } from './limits';
import { MessageIndex, type IndexLocation, type KeyQuery } from './message-index';
import { retentionPolicyOf, RetentionRunner, type RetentionDecision } from './retention';
import { rebuildIndex } from './log-scan';
import { WritePath } from './write-path';
import { isTransientIoError } from './file-io';
import { ReplicaPath, truncatingError } from './replica-path';
import { Checkpointer } from './checkpoint';
import type { CommitPolicy } from './commit-tracker';
import { readLogStretch, type LogStretch, type StretchUse } from './log-reader';
import { settingsOf, type AppendInput, type AppendResult, type AppendStages, type ReadOptions, type ReadResult, type StoreOptions, type StoreSettings, type StoreStats } from './store-options';

export type { AppendInput, AppendResult, AppendStages, FlushMode, ReadOptions, ReadResult, StoreEvent, StoreOptions, StoreStats } from './store-options';

export class MessageStore {
  private readonly queues = new Map<string, ConsumeQueue>();
  private readonly nextQueueOffsets = new Map<string, number>();
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  private lastRecovery: StoreStats['lastRecovery'];
  private readonly writes: WritePath;
  private readonly replica: ReplicaPath;
  private readonly checkpointer: Checkpointer;
  private readonly retention: RetentionRunner;
  private readonly index: MessageIndex | undefined;
  /** Recently read log blocks: consumers of many queues read the same stretch of log (read-cache.ts). */
  private readonly readCache: LogReadCache;
  /** Log offsets from which retention must keep everything (the broker's newest state snapshot). */
  private readonly retentionHolds: (() => number)[] = [];
  /** The last checkpoint failed for this reason (it is retried every tick). */
  private checkpointProblem: string | undefined;
  /** The oldest record's store time, for the log start it was read at (earliestStoreTimestampMs). */
  private earliestRecord: { logOffset: number; storeTimestampMs: number } | undefined;

  private constructor(
    private readonly options: StoreSettings,
    private readonly log: CommitLog,
    committedLogOffset: number,
    private readonly queueFiles: QueueFileSettings,
  ) {
    log.onDatasync = (segmentStartLogOffset, durationMs) => options.onEvent?.({ kind: 'fsync', segmentStartLogOffset, durationMs });
    this.index = options.indexedProperties ? new MessageIndex(options.indexEntryCountMax) : undefined;
    this.readCache = new LogReadCache(log, STORE_LIMITS.readCacheBlockBytes, STORE_LIMITS.readCacheBlocksMax);
    const refusal = () => this.refusal();
    this.writes = new WritePath({ settings: options, log, queues: this.queues, queueFiles, nextQueueOffsets: this.nextQueueOffsets, index: this.index, refusal, committedLogOffset });
    this.checkpointer = new Checkpointer({
      dataDir: options.dataDir,
      queues: this.queues,
      dispatchedLogOffset: () => Math.min(this.writes.confirmedLogOffset, this.writes.flushedLogOffset),
      committedLogOffset: () => this.writes.commits.committed,
      persistEntriesMin: options.queuePersistEntriesMin,
      persistLagBytesMax: options.queuePersistLagBytesMax,
    });
    this.retention = new RetentionRunner({
      log,
      policy: retentionPolicyOf(options),
      clock: options.clock,
      diskUsage: options.diskUsage,
      deletableBelowLogOffset: () => Math.min(this.checkpointer.checkpointedLogOffset, this.writes.commits.committed, ...this.retentionHolds.map((hold) => hold())),
      onLogMinAdvanced: (minLogOffset) => this.dropBelowLogOffset(minLogOffset),
      onEvent: (event) => options.onEvent?.(event),
    });
    this.replica = new ReplicaPath({
      settings: options, log, queues: this.queues, queueFiles, nextQueueOffsets: this.nextQueueOffsets, index: this.index,
      writes: this.writes, checkpointer: this.checkpointer, retention: this.retention, refusal, closed: () => this.closed,
    });
  }

  static async open(options: StoreOptions): Promise<MessageStore> {
    const settings = settingsOf(options);
    const startedMs = settings.clock.nowMs();
    const queueFiles: QueueFileSettings = {
      dir: join(settings.dataDir, 'consumequeue'),
      entriesPerFile: settings.consumeQueueFileEntries,
      hotEntryCount: STORE_LIMITS.consumeQueueHotEntryCount,
      pool: new FileHandlePool(STORE_LIMITS.queueFileHandlesIdleMax),
      fileIo: settings.fileIo,
      syncReads: new SyncReads({
        windowBytes: settings.syncReadWindowBytes, slowReadMs: STORE_LIMITS.syncReadSlowMs,
        backoffReadsMin: STORE_LIMITS.syncReadBackoffReadsMin, backoffReadsMax: STORE_LIMITS.syncReadBackoffReadsMax,
      }),
    };
    const damage = { acceptDataLoss: settings.acceptDataLoss, asideDir: join(settings.dataDir, 'commitlog-damaged'), nowMs: () => settings.clock.nowMs() };
    const { log, queues, report, cleanShutdown, committedLogOffset } = await recoverStore({ ...settings, damage, syncReads: queueFiles.syncReads }, queueFiles).catch(async (error: unknown) => {
      await queueFiles.pool.closeAll(); // a refused open (damage) leaves no descriptor behind
      throw error;
    });
    if (report.movedAside) settings.onEvent?.({ kind: 'segmentsMovedAside', ...report.movedAside });
    const store = new MessageStore(settings, log, committedLogOffset ?? log.endOffset, queueFiles);
    const uncommitted: { endLogOffset: number; queue: ConsumeQueue; count: number }[] = [];
    for (const [key, queue] of queues) {
      store.queues.set(key, queue);
      store.nextQueueOffsets.set(key, queue.count);
      // Readable: the entries of records below the committed offset the checkpoint kept; the
      // rest (a replica's tail the in-sync set had not confirmed) become readable as it commits.
      queue.committedCount = await queue.countBelowLogOffset(store.writes.commits.committed);
      for (let next = queue.committedCount; next < queue.count; ) {
        const batch = await queue.entriesFrom(next, queue.count - next);
        if (batch.entries.length === 0) break;
        for (let at = 0; at < batch.entries.length; at += CONSUME_QUEUE_ENTRY_BYTES) {
          const entry = entryAt(batch.entries, at);
          uncommitted.push({ endLogOffset: entry.logOffset + entry.sizeBytes, queue, count: batch.queueOffset + at / CONSUME_QUEUE_ENTRY_BYTES + 1 });
        }
        next = batch.queueOffset + batch.entries.length / CONSUME_QUEUE_ENTRY_BYTES;
      }
    }
    store.writes.commits.uncommittedAtOpen(uncommitted);
    await writeFile(join(settings.dataDir, 'abort'), String(process.pid));
    await store.checkpointer.run();
    const durationMs = settings.clock.nowMs() - startedMs;
    store.lastRecovery = { durationMs, recordsReplayed: report.recordsReplayed, cleanShutdown };
    settings.onEvent?.({ kind: 'recovered', report, durationMs, cleanShutdown });
    await store.startRetentionAndIndex(); // retention / index
    store.startTimers();
    return store;
  }

  private startTimers(): void {
    const { checkpointIntervalMs, retentionCheckIntervalMs, flushIntervalMs, flushMode } = this.options;
    const idle = () => !this.replica.truncating;
    // A transient error (EMFILE, EIO, ENOSPC) fails one checkpoint or flush: the next tick tries again.
    const transientOrFail = (operation: 'flush' | 'checkpoint') => (error: unknown) => {
      if (!isTransientIoError(error)) return this.writes.fail(error);
      this.checkpointProblem = operation === 'checkpoint' ? `${(error as NodeJS.ErrnoException).code} on checkpoint: ${(error as Error).message}` : this.checkpointProblem;
      if (operation === 'checkpoint') this.options.onEvent?.({ kind: 'writeStalled', error, operation });
    };
    const checkpointTick = () =>
      this.checkpointer.inFlight ??
      (idle() ? this.checkpointer.run('due').then(() => void (this.checkpointProblem = undefined), transientOrFail('checkpoint')) : undefined);
    this.timers.push(setInterval(checkpointTick, checkpointIntervalMs).unref());
    this.timers.push(setInterval(() => void (idle() ? this.retention.run() : undefined), retentionCheckIntervalMs).unref()); // retention
    if (flushMode === 'async') {
      this.timers.push(setInterval(() => void (idle() ? this.writes.flushDirty().catch(transientOrFail('flush')) : undefined), flushIntervalMs).unref());
    }
  }

  /** Why appends are refused right now, if they are. */
  private refusal(): RmqError | undefined {
    if (this.closed) return new RmqError('STORE_CLOSED');
    return this.writes.failure ?? this.writes.stalled ?? this.retention.writeRefusal ?? (this.replica.truncating ? truncatingError() : undefined); // retention: disk past the hard limit
  }

  /** Appends records in order; resolves once they are committed (alone: durable under the flush mode). */
  append(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    return this.writes.append(inputs);
  }

  /**
   * Appends records in order; `written` resolves once they reached the OS (a process crash cannot
   * lose them, a machine crash can), `committed` as append() does. For state records answered
   * before they are durable (a receive's delivery records: decisions.md). The records are encoded
   * into the log's own buffers before this returns: the caller may reuse the inputs' bodies then.
   */
  appendStaged(inputs: readonly AppendInput[]): AppendStages {
    return this.writes.appendStaged(inputs);
  }

  /**
   * The slave's path (replication): appends a stretch of another store's log, shipped as its
   * segment files hold it, from `atLogOffset`, which must be this log's end (replica-path.ts).
   * The bytes are kept as they are (written, and served to readers from memory): not changed afterwards.
   */
  appendReplicated(atLogOffset: number, bytes: Buffer): Promise<AppendResult[]> {
    return this.replica.appendReplicated(atLogOffset, bytes);
  }

  /**
   * Cuts the log back to `logOffset`, a record boundary at or below the confirmed end (a slave
   * whose log ran ahead of the new master's, after a failover): queues forget the entries from
   * there, the index is rebuilt, and a checkpoint is written at once. Appends wait meanwhile.
   */
  truncateTo(logOffset: number): Promise<void> {
    return this.replica.truncateTo(logOffset);
  }

  /**
   * A replica whose log has nothing in common with its master's starts over, empty, at
   * `logOffset` (the master's oldest segment start; replica-path.ts).
   */
  restartAt(logOffset: number): Promise<void> {
    return this.replica.restartAt(logOffset);
  }

  async read(topic: string, queueId: number, fromQueueOffset: number, options: ReadOptions): Promise<ReadResult> {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return { records: [], nextQueueOffset: fromQueueOffset };
    const sizeBytesMax = options.sizeBytesMax ?? STORE_LIMITS.readSizeBytesMax;
    // retention: a read below the queue's first entry starts at that entry.
    let queueOffset = Math.max(queue.minQueueOffset, fromQueueOffset);
    // Records above the committed offset are indexed but not readable yet.
    const scanEnd = Math.min(queue.committedCount, queueOffset + STORE_LIMITS.readScanEntriesMax);
    const chosen: RecordLocation[] = [];
    let sizeBytes = 0;
    // Entries come in batches of consecutive ones (from memory near the end, else one file read);
    // without a filter a batch is what the read asks for, with one a larger stretch is scanned.
    const batchEntries = options.acceptTagHash ? STORE_LIMITS.readScanEntriesMax : Math.max(1, options.countMax);
    const recentFromLogOffset = this.recentFromLogOffset();
    scan: while (queueOffset < scanEnd && chosen.length < options.countMax && sizeBytes < sizeBytesMax) {
      const batch = await queue.entriesFrom(queueOffset, Math.min(batchEntries, scanEnd - queueOffset), recentFromLogOffset);
      if (batch.entries.length === 0) {
        if (batch.queueOffset <= queueOffset) break; // nothing more where the queue says there is
        queueOffset = batch.queueOffset; // retention: deleted meanwhile, on from the new minimum
        continue;
      }
      queueOffset = batch.queueOffset;
      for (let at = 0; at < batch.entries.length; at += CONSUME_QUEUE_ENTRY_BYTES) {
        if (chosen.length >= options.countMax || sizeBytes >= sizeBytesMax) break scan;
        const entry = entryAt(batch.entries, at);
        queueOffset++;
        if (entry.sizeBytes === 0 || entry.logOffset < this.log.minOffset) continue; // a hole, or deleted by retention meanwhile
        if (options.acceptTagHash && !options.acceptTagHash(entry.tagHash)) continue;
        chosen.push(entry);
        sizeBytes += entry.sizeBytes;
      }
    }
    const records: (StoredRecord | undefined)[] = new Array(chosen.length);
    // Records just written come from memory (recent-writes.ts), those in whole blocks through the read cache
    // (read-cache.ts); the rest (larger records, the log's tail beyond what memory keeps) in spans of their own.
    const cachedMembers: number[] = [];
    const uncachedMembers: number[] = [];
    const readableEnd = this.writes.commits.committed;
    chosen.forEach((entry, member) => {
      // Just written (a consumer that keeps up): straight from memory.
      const recent = this.writes.recent.chunkHolding(entry.logOffset, entry.sizeBytes);
      if (recent) records[member] = viewRecord(recent.bytes, entry.logOffset - recent.logOffset, true); // encoded here, never left memory: no CRC to check
      else (this.readCache.covers(entry, readableEnd) ? cachedMembers : uncachedMembers).push(member);
    });
    for (let attempt = 0; cachedMembers.length > 0; attempt++) {
      // Retention may delete a segment during the read: its records are skipped, as below.
      const live = cachedMembers.filter((member) => chosen[member].logOffset >= this.log.minOffset);
      try {
        const loaded = await this.readCache.load(live.map((member) => chosen[member]), readableEnd);
        for (const member of live) {
          const { logOffset, sizeBytes: recordBytes } = chosen[member];
          // Viewed where it lies in its block; copied out only when it spans two.
          const block = this.readCache.blockHolding(loaded, logOffset, recordBytes);
          records[member] = block ? viewRecord(block, this.readCache.offsetInBlock(logOffset)) : decodeRecord(this.readCache.slice(loaded, logOffset, recordBytes));
        }
        break;
      } catch (error) {
        if (!isRmqError(error, 'NOT_FOUND') || attempt > 0) throw error;
      }
    }
    const uncached = uncachedMembers.map((member) => chosen[member]);
    for (const span of planReadSpans(uncached, this.log.segmentSizeBytes, STORE_LIMITS.readGapBytesMax, STORE_LIMITS.readSpanBytesMax)) {
      let bytes: Buffer;
      try {
        bytes = await this.log.read(span.logOffset, span.sizeBytes);
      } catch (error) {
        if (isRmqError(error, 'NOT_FOUND') && span.logOffset < this.log.minOffset) continue; // retention: deleted during the read
        throw error;
      }
      for (const member of span.members) {
        const at = uncached[member].logOffset - span.logOffset;
        records[uncachedMembers[member]] = viewRecord(bytes, at);
      }
    }
    return { records: records.filter((record): record is StoredRecord => record !== undefined), nextQueueOffset: queueOffset };
  }

  /** Records from here to the log's end are in the page cache: their queue entries are read synchronously (sync-reads.ts). */
  private recentFromLogOffset(): number {
    const windowBytes = this.queueFiles.syncReads?.windowBytes ?? 0;
    return windowBytes > 0 ? this.log.endOffset - windowBytes : Infinity;
  }

  /** Reads the record at a log offset (from a receipt handle, for one). */
  async readAt(logOffset: number, sizeBytes: number): Promise<StoredRecord> {
    assert(logOffset + sizeBytes <= this.writes.confirmedLogOffset, 'read beyond the written log', { logOffset, sizeBytes });
    if (logOffset < this.log.minOffset) throw new RmqError('NOT_FOUND', { what: 'message at log offset', name: `${logOffset} (deleted by retention)` });
    return decodeRecord(await this.log.read(logOffset, sizeBytes));
  }

  /**
   * The store time of the oldest record still on disk (RocketMQ's message reserve time is now
   * minus this); undefined while the log is empty. One header read each time retention moves the
   * log's start.
   */
  async earliestStoreTimestampMs(): Promise<number | undefined> {
    const logOffset = this.log.minOffset;
    if (logOffset >= this.writes.confirmedLogOffset) return undefined;
    if (this.earliestRecord?.logOffset === logOffset) return this.earliestRecord.storeTimestampMs;
    let header: Buffer;
    try {
      header = await this.log.readUpTo(logOffset, RECORD_HEADER_BYTES);
    } catch (error) {
      if (isRmqError(error, 'NOT_FOUND') || (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // retention deleted it meanwhile
      throw error;
    }
    if (header.length < RECORD_HEADER_BYTES || header.readUInt32BE(4) !== RECORD_MAGIC) return undefined; // a segment starts with a record; anything else is not ours to read
    this.earliestRecord = { logOffset, storeTimestampMs: readU64(header, 40) };
    return this.earliestRecord.storeTimestampMs;
  }

  /**
   * Index entries of a queue from `fromQueueOffset` (at most `countMax`), without reading the log:
   * for system queues whose tag hash carries a value of their own (a delay message's due second).
   * Like read(), only committed entries: one above the committed offset may yet be cut back, and
   * its record is not readable (the timer took such entries for records deleted by retention).
   */
  async queueEntries(topic: string, queueId: number, fromQueueOffset: number, countMax: number): Promise<(QueueEntry & { queueOffset: number })[]> {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return [];
    const entries: (QueueEntry & { queueOffset: number })[] = [];
    let queueOffset = Math.max(queue.minQueueOffset, fromQueueOffset);
    const end = Math.min(queue.committedCount, queueOffset + countMax);
    while (queueOffset < end) {
      const batch = await queue.entriesFrom(queueOffset, end - queueOffset, this.recentFromLogOffset());
      if (batch.entries.length === 0) {
        if (batch.queueOffset <= queueOffset) break;
        queueOffset = batch.queueOffset; // retention: deleted meanwhile
        continue;
      }
      queueOffset = batch.queueOffset;
      for (let at = 0; at < batch.entries.length && queueOffset < end; at += CONSUME_QUEUE_ENTRY_BYTES, queueOffset++) {
        const entry = entryAt(batch.entries, at);
        if (entry.sizeBytes !== 0 && entry.logOffset >= this.log.minOffset) entries.push({ ...entry, queueOffset });
      }
    }
    return entries;
  }

  /** Queue offsets [min, max) readable now; max is the offset the next message will get. */
  queueRange(topic: string, queueId: number): { minQueueOffset: number; maxQueueOffset: number } {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return { minQueueOffset: 0, maxQueueOffset: 0 };
    const maxQueueOffset = queue.committedCount;
    return { minQueueOffset: Math.min(queue.minQueueOffset, maxQueueOffset), maxQueueOffset };
  }

  queueList(): { topic: string; queueId: number; count: number }[] {
    return [...this.queues.values()].map((queue) => ({ topic: queue.topic, queueId: queue.queueId, count: queue.committedCount }));
  }

  /** Called after new records of a queue became readable (to wake long polls). */
  onConfirmed(listener: (topic: string, queueId: number) => void): () => void {
    return this.writes.onConfirmed(listener);
  }

  get confirmedLogOffset(): number {
    return this.writes.confirmedLogOffset;
  }

  // --- Replication: written, durable, committed (commit-tracker.ts) and shipping (log-reader.ts) ---

  get segmentSizeBytes(): number {
    return this.log.segmentSizeBytes;
  }

  get writtenLogOffset(): number {
    return this.writes.commits.written;
  }

  /** What a master may ship: bytes handed to the OS, in sync mode before their fdatasync here. */
  get shippableLogOffset(): number {
    return this.writes.commits.shippable;
  }

  get durableLogOffset(): number {
    return this.writes.commits.durable;
  }

  get committedLogOffset(): number {
    return this.writes.commits.committed;
  }

  /**
   * Resolves once everything this log holds now (written or still being written) is committed, so
   * readable: a slave becoming master reads its state from the log only after the tail it copied
   * (written, not yet durable or confirmed by the old master) became readable.
   */
  whenCommittedToEnd(): Promise<void> {
    return this.writes.commits.whenCommitted(this.log.endOffset);
  }

  /** 'local' alone; 'replicated' in a replica group, where advanceCommitted moves the committed offset. */
  setCommitPolicy(policy: CommitPolicy): void {
    this.writes.commits.setPolicy(policy);
  }

  /** In a replica group: everything below `logOffset` is on every in-sync member (clamped to written). */
  advanceCommitted(logOffset: number): void {
    this.writes.commits.advance(logOffset);
  }

  /** Called after every write and sync of this store (the written or durable offset moved). */
  onLocalProgress(listener: () => void): () => void {
    return this.writes.commits.onProgress(listener);
  }

  /** append() is refused with `refusal` until called again with undefined (a slave; too few in-sync replicas). */
  refuseAppends(refusal: RmqError | undefined): void {
    this.writes.appendRefusal = refusal;
  }

  /**
   * A stretch of whole records from `fromLogOffset`, as the segment holds it, ending at or below
   * `limitLogOffset`. With use 'turn' the bytes may be a view valid only until this turn of the
   * event loop ends (log-reader.ts).
   */
  readLog(fromLogOffset: number, limitLogOffset: number, sizeBytesMax: number, use: StretchUse = 'kept'): Promise<LogStretch> {
    return readLogStretch(this.log, fromLogOffset, Math.min(limitLogOffset, this.writes.commits.shippable), sizeBytesMax, this.writes.recent, use);
  }

  /**
   * Whether the bytes from `logOffset` on are still kept in memory as written: a 'turn' view of
   * them (readLog) still holds them. Checked right before the view is used, in the same
   * synchronous stretch: between readLog's answer and its use, microtasks may have written,
   * dropped the oldest kept chunks and reused their slabs.
   */
  keepsInMemory(logOffset: number): boolean {
    return logOffset >= this.writes.recent.keptFromLogOffset;
  }

  stats(): StoreStats {
    const { confirmedLogOffset, flushedLogOffset } = this.writes;
    return {
      flushMode: this.options.flushMode,
      logEndOffset: this.log.endOffset,
      confirmedLogOffset,
      flushedLogOffset,
      writtenLogOffset: confirmedLogOffset,
      durableLogOffset: flushedLogOffset,
      committedLogOffset: this.writes.commits.committed,
      queueCount: this.queues.size,
      appendedRecords: this.writes.appendedRecords,
      lastRecovery: this.lastRecovery,
      logMinOffset: this.log.minOffset,
      logSizeBytes: this.log.endOffset - this.log.minOffset,
      flushLagBytes: confirmedLogOffset - flushedLogOffset,
      writeRefusal: this.refusal()?.message,
      checkpointProblem: this.checkpointProblem,
      dispatchLagBytes: this.log.endOffset - confirmedLogOffset,
      checkpointLagBytes: Math.max(0, confirmedLogOffset - this.checkpointer.checkpointedLogOffset),
      retention: this.retention.stats(),
      index: this.index && { entryCount: this.index.entryCount, entryCountMax: this.index.entryCountMax, evictedEntryCount: this.index.evictedEntryCount },
    };
  }

  /** Finishes pending appends, flushes everything and marks the shutdown clean. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.writes.stopRetrying();
    await this.retention.whenIdle(); // retention: lets a pass in flight finish
    await this.writes.whenWritten();
    await this.writes.whenFlushed();
    await this.writes.flushDirty();
    this.writes.commits.failWaiters(new RmqError('STORE_CLOSED')); // sends the in-sync set never confirmed
    await this.checkpointer.run();
    for (const queue of this.queues.values()) await queue.close();
    await this.queueFiles.pool.closeAll();
    await this.log.close();
    if (!this.writes.failure) await rm(join(this.options.dataDir, 'abort'), { force: true });
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

  /** Retention keeps every segment from `logOffset()` on (the journal's newest in-log state snapshot). */
  holdRetentionFrom(logOffset: () => number): void {
    this.retentionHolds.push(logOffset);
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
    await this.dropBelowLogOffset(this.log.minOffset, false);
    await this.retention.run();
    if (this.index && this.options.indexedProperties) {
      const startedMs = this.options.clock.nowMs();
      const report = await rebuildIndex(this.log, this.index, this.options.indexedProperties, this.writes.confirmedLogOffset, this.options.indexRebuildScanBytesMax);
      if (report) this.options.onEvent?.({ kind: 'indexRebuilt', report, durationMs: this.options.clock.nowMs() - startedMs, entryCount: this.index.entryCount });
    }
  }

  /**
   * Retention deleted the log below `minLogOffset`: queues and index forget what pointed there,
   * and each queue that lost entries says which (nothing is removed in silence). At open the
   * queues only catch up with deletions of an earlier run, which reported them then: no events.
   */
  private async dropBelowLogOffset(minLogOffset: number, report = true): Promise<void> {
    this.index?.dropBelow(minLogOffset);
    await forEachConcurrently([...this.queues.values()], STORE_LIMITS.queueOpenConcurrency, async (queue) => {
      const trimmed = await queue.advanceMinToLogOffset(minLogOffset);
      if (trimmed && report) this.options.onEvent?.({ kind: 'queueTrimmed', topic: queue.topic, queueId: queue.queueId, ...trimmed });
    });
  }
}
