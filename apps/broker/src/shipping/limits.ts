// Every bound of log shipping, with its unit and why.
export const REPLICATION_LIMITS = {
  /** One batch carries at most this much log (a gRPC message stays far below its 4 MiB default). */
  batchBytesMax: 1024 * 1024,
  /** Bytes shipped but not yet acknowledged as written by the slave: the master stops there (backpressure). */
  unackedBytesMax: 8 * 1024 * 1024,
  /** A caught-up stream sends an empty batch this often, carrying the committed offset and proving it is alive. */
  idleBatchIntervalMs: 200,
  /** How often the master applies the in-sync bounds and samples its log end for lag times. */
  evaluateIntervalMs: 50,
  /** At most one (time, log end) sample per interval; a lag time may read this much too long. */
  lagSampleIntervalMs: 25,
  /** A slave reconnects after a failure with exponential backoff between these bounds. */
  reconnectDelayMsMin: 100,
  reconnectDelayMsMax: 2_000,
  /** DescribeLog and the first batch must arrive within this; a silent master is abandoned after it. */
  masterSilenceMsMax: 5_000,
  /** A slave's async-mode durable progress is reported at least this often. */
  progressIntervalMs: 100,
  /** Defaults of the in-sync bounds (--in-sync-lag-ms, --in-sync-lag-mib). */
  inSyncLagMsDefault: 5_000,
  inSyncLagBytesDefault: 64 * 1024 * 1024,
} as const;
