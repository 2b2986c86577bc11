// Every bound of the store, with its unit and why.
export const STORE_LIMITS = {
  /** RocketMQ uses 1 GiB; smaller segments make retention finer and recovery reads shorter. */
  segmentSizeBytesDefault: 256 * 1024 * 1024,
  /** async mode: RocketMQ's flushIntervalCommitLog. */
  flushIntervalMsDefault: 500,
  /** How far queue files may lag the log; recovery replays at most this much. */
  checkpointIntervalMsDefault: 1000,
  /** One read returns at most this many bytes (a gRPC reply must stay well under 4 MiB per message frame). */
  readSizeBytesMax: 8 * 1024 * 1024,
  /** A filtered read scans at most this many index entries before returning what it has. */
  readScanEntriesMax: 10_000,
} as const;
