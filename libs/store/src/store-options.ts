// The store's public option, event and result types, and the defaults an open fills in.
import { systemClock, type Clock } from '@rmq/base';
import type { RecoveryReport } from './commit-log';
import type { RecordInput } from './record';
import type { StoredRecord } from './record-view';
import { STORE_LIMITS } from './limits';
import type { IndexedProperties } from './message-index';
import { diskUsageOf, type DiskUsage, type RetentionEvent, type RetentionStats } from './retention';
import type { ScanReport } from './log-scan';
import type { CommitPolicy } from './commit-tracker';
import { nodeFileIo, type FileIo } from './file-io';

export type FlushMode = 'sync' | 'async';

export interface StoreOptions {
  dataDir: string;
  flushMode: FlushMode;
  segmentSizeBytes?: number;
  /** async mode: how often written data is fdatasynced. */
  flushIntervalMs?: number;
  /** How often queue files are persisted and the checkpoint advanced. */
  checkpointIntervalMs?: number;
  /** A periodic checkpoint persists a queue holding at least this many new entries... */
  queuePersistEntriesMin?: number;
  /** ...or whose first new entry is this many log bytes behind; the others wait (STORE_LIMITS). */
  queuePersistLagBytesMax?: number;
  clock?: Clock;
  onEvent?: (event: StoreEvent) => void;
  /** Bytes accepted and not yet written before appends get TOO_MANY_REQUESTS. */
  pendingAppendBytesMax?: number;

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

  /** 'local' (alone: committed follows this store) or 'replicated' (see commit-tracker.ts). */
  commitPolicy?: CommitPolicy;
  /** Entries per consume queue file (tests use small ones); queue files cut otherwise are rebuilt. */
  consumeQueueFileEntries?: number;
  /**
   * A damaged record below the checkpoint (data that was acknowledged and on disk) makes open
   * fail; with this set, the damaged segment and those after it are moved aside into
   * `commitlog-damaged/` (never deleted) and the store opens with the log cut there.
   */
  acceptDataLoss?: boolean;
  /** Writes and flushes of data files (file-io.ts); tests inject disk failures through it. */
  fileIo?: FileIo;
  /** The log's newest bytes (and queue entries pointing there) are read on the main thread (sync-reads.ts); 0: never. */
  syncReadWindowBytes?: number;
  /** Zeros kept written ahead of the log's end in its segment (zero-ahead.ts), so an fdatasync grows no file; 0: none. */
  zeroAheadBytes?: number;
}

export type OptionalSettings = 'onEvent' | 'indexedProperties';
export type StoreSettings = Required<Omit<StoreOptions, OptionalSettings>> & Pick<StoreOptions, OptionalSettings>;

export type StoreEvent =
  | { kind: 'recovered'; report: RecoveryReport; durationMs: number; cleanShutdown: boolean }
  | { kind: 'flushed'; durationMs: number }
  | { kind: 'writeFailed'; error: unknown }
  /** One per fdatasync of a commit log segment (group commit or periodic flush): fsync latency. */
  | { kind: 'fsync'; segmentStartLogOffset: number; durationMs: number }
  | { kind: 'indexRebuilt'; report: ScanReport; durationMs: number; entryCount: number }
  /** Queue files ("topic/queueId") were missing or short: recovery re-reads the whole log. */
  | { kind: 'queuesRebuilding'; queues: string[] }
  /**
   * Retention deleted the records of queue offsets [fromQueueOffset, toQueueOffset) of a queue
   * (their segments are gone): consumers that had not read them never will.
   */
  | { kind: 'queueTrimmed'; topic: string; queueId: number; fromQueueOffset: number; toQueueOffset: number }
  /** acceptDataLoss: damaged segments were moved aside (not deleted) and the log cut at the damage. */
  /** A transient error (EIO, ENOSPC, EMFILE...) stopped writes; they are retried until they succeed. */
  | { kind: 'writeStalled'; error: unknown; operation: 'write' | 'flush' | 'checkpoint' }
  /** Writes succeeded again after a stall. */
  | { kind: 'writeResumed'; stalledMs: number }
  | { kind: 'segmentsMovedAside'; atLogOffset: number; reason: string; movedTo: string[] }
  | RetentionEvent;

export type AppendInput = RecordInput;

export interface AppendResult {
  logOffset: number;
  queueOffset: number;
  storeTimestampMs: number;
}

/** An append followed in two stages (MessageStore.appendStaged). */
export interface AppendStages {
  /**
   * The records reached the OS (page cache): a crash of the process no longer loses them, a crash
   * of the machine may. Rejects when the append fails before that.
   */
  written: Promise<AppendResult[]>;
  /** Committed, as append() resolves: durable in sync mode, and on every in-sync replica. */
  committed: Promise<AppendResult[]>;
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
  /** Why appends are refused now (disk full, a stalled write, closing...); undefined while they are accepted. */
  writeRefusal?: string;
  /** Why the last checkpoint failed (it is retried); undefined when it went through. */
  checkpointProblem?: string;
  logEndOffset: number;
  /** Written and indexed (the same as writtenLogOffset; the name from before replicas). */
  confirmedLogOffset: number;
  /** fdatasynced here (the same as durableLogOffset). */
  flushedLogOffset: number;
  writtenLogOffset: number;
  durableLogOffset: number;
  /** On every in-sync replica: appends below it are answered and records below it readable. */
  committedLogOffset: number;
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

/** The settings of a store: its options with every default filled in. */
export function settingsOf(options: StoreOptions): StoreSettings {
  return {
    segmentSizeBytes: STORE_LIMITS.segmentSizeBytesDefault,
    flushIntervalMs: STORE_LIMITS.flushIntervalMsDefault,
    checkpointIntervalMs: STORE_LIMITS.checkpointIntervalMsDefault,
    queuePersistEntriesMin: STORE_LIMITS.queuePersistEntriesMinDefault,
    queuePersistLagBytesMax: STORE_LIMITS.queuePersistLagBytesMaxDefault,
    clock: systemClock,
    pendingAppendBytesMax: STORE_LIMITS.pendingAppendBytesMax,
    retentionMs: STORE_LIMITS.retentionMsDefault,
    diskUsageHighWaterRatio: STORE_LIMITS.diskUsageHighWaterRatioDefault,
    diskUsageHardLimitRatio: STORE_LIMITS.diskUsageHardLimitRatioDefault,
    retentionCheckIntervalMs: STORE_LIMITS.retentionCheckIntervalMsDefault,
    diskUsage: () => diskUsageOf(options.dataDir),
    indexEntryCountMax: STORE_LIMITS.indexEntryCountMaxDefault,
    indexRebuildScanBytesMax: STORE_LIMITS.indexRebuildScanBytesMaxDefault,
    commitPolicy: 'local',
    consumeQueueFileEntries: STORE_LIMITS.consumeQueueFileEntriesDefault,
    acceptDataLoss: false,
    fileIo: nodeFileIo,
    syncReadWindowBytes: STORE_LIMITS.syncReadWindowBytesDefault,
    zeroAheadBytes: STORE_LIMITS.zeroAheadBytesDefault,
    ...withoutUndefined(options),
  };
}

/** Options left undefined take their defaults instead of overriding them. */
function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}
