// Bounds of the state journal, with their units and why.
export const STATE_LIMITS = {
  /**
   * An in-log snapshot after this much log since the last one: retention can then drop the
   * segments before it. Far below a segment (RocketMQ's are 1 GiB), so a snapshot is never far behind.
   */
  snapshotEveryBytesDefault: 64 * 1024 * 1024,
  /** How often the log's growth is checked against snapshotEveryBytes. */
  snapshotCheckIntervalMs: 5_000,
  /** A state record's body: well inside a segment and a message's limits. */
  recordBodyBytesMax: 1024 * 1024,
  /** State records read per store read during replay. */
  replayBatchRecordsMax: 256,
} as const;
