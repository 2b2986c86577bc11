// Every bound of the store, with its unit and why.
export const STORE_LIMITS = {
  /** RocketMQ uses 1 GiB; smaller segments make retention finer and recovery reads shorter. */
  segmentSizeBytesDefault: 256 * 1024 * 1024,
  /** async mode: RocketMQ's flushIntervalCommitLog. */
  flushIntervalMsDefault: 500,
  /** How far queue files may lag the log; recovery replays at most this much. */
  checkpointIntervalMsDefault: 1000,
  /**
   * A periodic checkpoint writes a queue's new entries (one write and one fdatasync per queue file)
   * only once it holds this many, two 4 KiB pages as RocketMQ's flushConsumeQueueLeastPages, or once
   * its first one is `queuePersistLagBytesMaxDefault` behind the log's end: with thousands of quiet
   * queues a checkpoint no longer costs thousands of fdatasyncs a second. The checkpoint then stops
   * below the first entry such a queue holds back, so recovery re-reads at most that much more log.
   */
  queuePersistEntriesMinDefault: 409,
  queuePersistLagBytesMaxDefault: 64 * 1024 * 1024,
  /**
   * Entries of one consume queue file (RocketMQ's mapedFileSizeConsumeQueue): 300,000 x 20 bytes,
   * about 5.7 MiB. Retention frees queue space a file at a time; recovery checks only the last file.
   */
  consumeQueueFileEntriesDefault: 300_000,
  /**
   * Entries of a queue's end kept in memory after they are persisted (1.25 KiB a queue): reads near
   * the end need no I/O. Small because it is paid per queue (10,000 queues: about 16 MiB with slack).
   */
  consumeQueueHotEntryCount: 64,
  /** Open queue file handles kept while idle, over all queues of a store (each queue has a few files). */
  queueFileHandlesIdleMax: 256,
  /** Queues opened (and, at open, checked against retention) at once: their file operations overlap. */
  queueOpenConcurrency: 16,
  /** Recovery persists a queue it is rebuilding once it holds this many entries (1.25 MiB), so a rebuild's memory stays bounded. */
  queueReplayPersistEntries: 65_536,
  /** Appends are encoded into slabs of this size; a batch is written as a few such buffers. */
  appendSlabBytes: 4 * 1024 * 1024,
  /**
   * Zeros kept written ahead of the log's end in the segment being written (zero-ahead.ts): 2 MiB,
   * topped up when under half is left, so about one group commit per MiB written carries a step of
   * zeros (a few ms on this disk) and the others grow no file. Disk writes double at most.
   */
  zeroAheadBytesDefault: 2 * 1024 * 1024,
  /** Recovery reads a segment in windows of this size (a larger record gets a read of its own). */
  recoveryReadBytes: 8 * 1024 * 1024,
  /** One read returns at most this many bytes (a gRPC reply must stay well under 4 MiB per message frame). */
  readSizeBytesMax: 8 * 1024 * 1024,
  /**
   * Bytes accepted but not yet written (and fdatasynced in sync mode): past it an append is
   * refused with TOO_MANY_REQUESTS (clients back off and retry) instead of queueing without end
   * when senders outrun the disk. Four of the largest messages: a send admitted behind the queue waits for at most that much writing.
   */
  pendingAppendBytesMax: 16 * 1024 * 1024,
  /** A write stalled by a transient error (EIO, ENOSPC, EMFILE) is tried again after this, doubling... */
  stallRetryMsMin: 50,
  /** ...up to this: the longest a freed disk waits before writes resume, and a close waits for a stalled write. */
  stallRetryMsMax: 1_000,
  /** Records of one read this close together in the log are fetched with one read (read-spans.ts)... */
  readGapBytesMax: 64 * 1024,
  /** ...of at most this many bytes. */
  readSpanBytesMax: 1024 * 1024,
  /**
   * The read cache (read-cache.ts) reads the log in aligned blocks of this size; larger records
   * are read on their own. Big enough that a receive touches few blocks, small enough that a
   * block holds little besides what is read.
   */
  readCacheBlockBytes: 256 * 1024,
  /** Blocks kept (16 MiB): a receive over every queue of a busy topic reads within a few MiB of log. */
  readCacheBlocksMax: 64,
  /**
   * The newest bytes written, kept in memory as written (recent-writes.ts): consumers that keep
   * up read these without a file read. Seconds of traffic at tens of MB/s.
   */
  recentWritesBytesMax: 32 * 1024 * 1024,
  /**
   * The newest bytes of the log read on the main thread instead of the thread pool (sync-reads.ts):
   * written moments ago, so in the page cache of any machine fit to run a broker.
   */
  syncReadWindowBytesDefault: 256 * 1024 * 1024,
  /** A synchronous read slower than this waited for the disk (a page-cache read of 256 KiB takes well under 1 ms). */
  syncReadSlowMs: 2,
  /** After a slow synchronous read this many reads go to the thread pool, doubling after each further slow one... */
  syncReadBackoffReadsMin: 16,
  /** ...up to this many. */
  syncReadBackoffReadsMax: 4096,
  /** A filtered read scans at most this many index entries before returning what it has. */
  readScanEntriesMax: 10_000,

  // Retention (retention.ts). Defaults are RocketMQ's (MessageStoreConfig).
  /** fileReservedTime: a segment last written longer ago than this is deleted. */
  retentionMsDefault: 72 * 60 * 60 * 1000,
  /** diskMaxUsedSpaceRatio: above this disk usage the oldest segments go before they expire. */
  diskUsageHighWaterRatioDefault: 0.75,
  /** diskSpaceWarningLevelRatio: above this disk usage appends are refused (STORE_FULL). */
  diskUsageHardLimitRatioDefault: 0.9,
  /** cleanResourceInterval: how often usage is measured and segments are considered for deletion. */
  retentionCheckIntervalMsDefault: 10_000,
  /** deleteFileBatchMax: one pass deletes at most this many segments, so a pass stays short. */
  retentionDeleteSegmentCountMax: 10,

  // Message index (message-index.ts).
  /**
   * Records the id/key index remembers; the oldest are forgotten first. About 200-300 bytes of
   * heap each (id string, key strings, map slots), so the default costs roughly 100-150 MiB.
   */
  indexEntryCountMaxDefault: 500_000,
  /**
   * At start the index is rebuilt from the newest part of the log: scanning starts at the segment
   * holding (log end - this). Bounds the extra start-up read; 0 turns the rebuild off.
   */
  indexRebuildScanBytesMaxDefault: 512 * 1024 * 1024,
  /** How much of a segment one rebuild read takes (records are at most a few MiB). */
  indexRebuildReadBytes: 8 * 1024 * 1024,
  /** RocketMQ's defaultQueryMaxNum: records a key query returns when the caller names no count. */
  queryCountDefault: 32,
  /** A key or id query never returns more records than this (each is a log read). */
  queryCountMax: 1000,
} as const;
