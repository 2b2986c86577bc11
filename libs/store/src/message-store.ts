// The message store: appends batches of records to the commit log, indexes them per queue,
// and serves reads by queue offset. Ordering rules it keeps:
//   - a record is acknowledged (append resolves) only after it reached the OS (async mode) or
//     the disk (sync mode, one fdatasync shared by every append in the batch: group commit);
//   - a record is indexed, and so readable, only once confirmed: readers never see data that a
//     crash could take back;
//   - queue offsets of one queue are consecutive and follow log order.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assert, RmqError, systemClock, type Clock } from '@rmq/base';
import { CommitLog, type Chunk, type RecoveryReport } from './commit-log';
import { ConsumeQueue } from './consume-queue';
import { decodeRecord, encodeRecord, encodedSizeBytes, type RecordInput, type StoredRecord } from './record';
import { readJson, writeJsonAtomic } from './state-file';
import { STORE_LIMITS } from './limits';

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
}

export type StoreEvent =
  | { kind: 'recovered'; report: RecoveryReport; durationMs: number; cleanShutdown: boolean }
  | { kind: 'flushed'; durationMs: number }
  | { kind: 'writeFailed'; error: unknown };

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
}

interface PendingAppend {
  chunks: Chunk[];
  placements: { queue: ConsumeQueue; logOffset: number; sizeBytes: number; tagHash: number; queueOffset: number }[];
  results: AppendResult[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

interface Checkpoint {
  /** Every queue file holds all entries of records below this log offset. */
  dispatchedLogOffset: number;
}

export class MessageStore {
  private readonly queues = new Map<string, ConsumeQueue>();
  private readonly nextQueueOffsets = new Map<string, number>();
  private readonly listeners = new Set<(topic: string, queueId: number) => void>();
  private pending: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private dirtySegments = new Set<number>();
  private confirmedLogOffsetValue: number;
  private flushedLogOffsetValue: number;
  private appendedRecords = 0;
  private failure: RmqError | undefined;
  private closed = false;
  private timers: NodeJS.Timeout[] = [];
  private lastRecovery: StoreStats['lastRecovery'];

  private constructor(
    private readonly options: Required<Omit<StoreOptions, 'onEvent'>> & Pick<StoreOptions, 'onEvent'>,
    private readonly log: CommitLog,
  ) {
    this.confirmedLogOffsetValue = log.endOffset;
    this.flushedLogOffsetValue = log.endOffset;
  }

  static async open(options: StoreOptions): Promise<MessageStore> {
    const settings = {
      segmentSizeBytes: STORE_LIMITS.segmentSizeBytesDefault,
      flushIntervalMs: STORE_LIMITS.flushIntervalMsDefault,
      checkpointIntervalMs: STORE_LIMITS.checkpointIntervalMsDefault,
      clock: systemClock,
      ...options,
    };
    const startedMs = Date.now();
    await mkdir(settings.dataDir, { recursive: true });
    const abortMarker = join(settings.dataDir, 'abort');
    const cleanShutdown = !existsSync(abortMarker);
    const checkpoint = (await readJson<Checkpoint>(join(settings.dataDir, 'checkpoint.json'))) ?? { dispatchedLogOffset: 0 };

    const queues = await loadQueues(join(settings.dataDir, 'consumequeue'), checkpoint.dispatchedLogOffset);
    const { log, report } = await CommitLog.open(
      join(settings.dataDir, 'commitlog'),
      settings.segmentSizeBytes,
      checkpoint.dispatchedLogOffset,
      (record) => {
        const queue = queueIn(queues, settings.dataDir, record.topic, record.queueId);
        assert(record.queueOffset === queue.count, 'replayed record does not continue its queue', {
          topic: record.topic, queueId: record.queueId, queueOffset: record.queueOffset, expected: queue.count,
        });
        queue.append({ logOffset: record.logOffset, sizeBytes: record.sizeBytes, tagHash: record.tagHash });
      },
    );
    if (report.logEndOffset < checkpoint.dispatchedLogOffset) {
      for (const queue of queues.values()) queue.truncateFromLogOffset(report.logEndOffset);
    }
    const store = new MessageStore(settings, log);
    for (const [key, queue] of queues) {
      store.queues.set(key, queue);
      store.nextQueueOffsets.set(key, queue.count);
    }
    await writeFile(abortMarker, String(process.pid));
    await store.checkpoint();
    const durationMs = Date.now() - startedMs;
    store.lastRecovery = { durationMs, recordsReplayed: report.recordsReplayed, cleanShutdown };
    settings.onEvent?.({ kind: 'recovered', report, durationMs, cleanShutdown });
    store.timers.push(setInterval(() => void store.checkpoint().catch((error) => store.fail(error)), settings.checkpointIntervalMs).unref());
    if (settings.flushMode === 'async') {
      store.timers.push(setInterval(() => void store.flushDirty().catch((error) => store.fail(error)), settings.flushIntervalMs).unref());
    }
    return store;
  }

  /** Appends records in order; resolves once they are durable under the flush mode. */
  append(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new RmqError('STORE_CLOSED'));
    if (this.failure) return Promise.reject(this.failure);
    const storeTimestampMs = this.options.clock.nowMs();
    const entry: PendingAppend = { chunks: [], placements: [], results: [], resolve: () => {}, reject: () => {} };
    for (const input of inputs) {
      const sizeBytes = encodedSizeBytes(input);
      const { logOffset, blank } = this.log.reserve(sizeBytes);
      if (blank) entry.chunks.push(blank);
      const key = queueKey(input.topic, input.queueId);
      const queueOffset = this.nextQueueOffsets.get(key) ?? 0;
      this.nextQueueOffsets.set(key, queueOffset + 1);
      entry.chunks.push({ logOffset, bytes: encodeRecord(input, { logOffset, queueOffset, storeTimestampMs }, sizeBytes) });
      const queue = queueIn(this.queues, this.options.dataDir, input.topic, input.queueId);
      entry.placements.push({ queue, logOffset, sizeBytes, tagHash: input.tagHash, queueOffset });
      entry.results.push({ logOffset, queueOffset, storeTimestampMs });
    }
    const done = new Promise<AppendResult[]>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.pending.push(entry);
    this.writing ??= this.writeLoop();
    return done;
  }

  async read(topic: string, queueId: number, fromQueueOffset: number, options: ReadOptions): Promise<ReadResult> {
    const queue = this.queues.get(queueKey(topic, queueId));
    if (!queue) return { records: [], nextQueueOffset: fromQueueOffset };
    const sizeBytesMax = options.sizeBytesMax ?? STORE_LIMITS.readSizeBytesMax;
    const scanEnd = Math.min(queue.count, fromQueueOffset + STORE_LIMITS.readScanEntriesMax);
    const records: StoredRecord[] = [];
    let sizeBytes = 0;
    let queueOffset = Math.max(0, fromQueueOffset);
    while (queueOffset < scanEnd && records.length < options.countMax && sizeBytes < sizeBytesMax) {
      const entry = queue.entry(queueOffset)!;
      queueOffset++;
      if (options.acceptTagHash && !options.acceptTagHash(entry.tagHash)) continue;
      records.push(decodeRecord(await this.log.read(entry.logOffset, entry.sizeBytes)));
      sizeBytes += entry.sizeBytes;
    }
    return { records, nextQueueOffset: queueOffset };
  }

  /** Reads the record at a log offset (from a receipt handle, for one). */
  async readAt(logOffset: number, sizeBytes: number): Promise<StoredRecord> {
    assert(logOffset + sizeBytes <= this.confirmedLogOffsetValue, 'read beyond the confirmed log', { logOffset, sizeBytes });
    return decodeRecord(await this.log.read(logOffset, sizeBytes));
  }

  /** Queue offsets [min, max) readable now; max is the offset the next message will get. */
  queueRange(topic: string, queueId: number): { minQueueOffset: number; maxQueueOffset: number } {
    return { minQueueOffset: 0, maxQueueOffset: this.queues.get(queueKey(topic, queueId))?.count ?? 0 };
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
    };
  }

  /** Finishes pending appends, flushes everything and marks the shutdown clean. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.writing;
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
        if (this.failure) {
          for (const entry of batch) entry.reject(this.failure);
          continue;
        }
        try {
          const touched = await this.log.write(batch.flatMap((entry) => entry.chunks));
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
        this.confirmedLogOffsetValue = placement.logOffset + placement.sizeBytes;
        woken.add(placement.queue);
      }
      this.appendedRecords += entry.placements.length;
    }
    if (this.options.flushMode === 'sync') this.flushedLogOffsetValue = this.confirmedLogOffsetValue;
    for (const entry of batch) entry.resolve(entry.results);
    for (const queue of woken) for (const listener of this.listeners) listener(queue.topic, queue.queueId);
  }

  private async flushDirty(): Promise<void> {
    if (this.dirtySegments.size === 0) return;
    const startedMs = Date.now();
    const target = this.confirmedLogOffsetValue;
    const segments = [...this.dirtySegments];
    this.dirtySegments.clear();
    await this.log.datasync(segments);
    this.flushedLogOffsetValue = Math.max(this.flushedLogOffsetValue, target);
    this.options.onEvent?.({ kind: 'flushed', durationMs: Date.now() - startedMs });
  }

  private async checkpoint(): Promise<void> {
    // In async mode the index may only run ahead of what is on disk by what a crash of the
    // process (not the machine) keeps: the page cache. Recovery re-validates the log anyway.
    const dispatchedLogOffset = this.confirmedLogOffsetValue;
    for (const queue of this.queues.values()) await queue.persist();
    await writeJsonAtomic(join(this.options.dataDir, 'checkpoint.json'), { dispatchedLogOffset } satisfies Checkpoint);
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    const code = (error as NodeJS.ErrnoException).code;
    this.failure = code === 'ENOSPC' ? new RmqError('STORE_FULL', { reason: 'no space left on device' }) : new RmqError('STORE_CLOSED');
    this.options.onEvent?.({ kind: 'writeFailed', error });
  }
}

function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0000${queueId}`;
}

function queueIn(queues: Map<string, ConsumeQueue>, dataDir: string, topic: string, queueId: number): ConsumeQueue {
  const key = queueKey(topic, queueId);
  let queue = queues.get(key);
  if (!queue) {
    queue = ConsumeQueue.empty(topic, queueId, join(dataDir, 'consumequeue', topic, String(queueId)));
    queues.set(key, queue);
  }
  return queue;
}

async function loadQueues(dir: string, logEndOffset: number): Promise<Map<string, ConsumeQueue>> {
  const queues = new Map<string, ConsumeQueue>();
  if (!existsSync(dir)) return queues;
  for (const topic of await readdir(dir)) {
    for (const name of await readdir(join(dir, topic))) {
      if (!/^\d+$/.test(name)) continue;
      const queueId = Number(name);
      queues.set(queueKey(topic, queueId), await ConsumeQueue.load(topic, queueId, join(dir, topic, name), logEndOffset));
    }
  }
  return queues;
}
