// Every bound and default of replication, with its unit and why it is what it is.

export const REPLICATION_LIMITS = {
  /**
   * How often a broker heartbeats the controller. Short, because a new master learns of its
   * election with its next heartbeat, and the target is a failover under 3 s.
   */
  heartbeatIntervalMsDefault: 300,
  /**
   * A broker not heard from for this long is dead (five lost beats); a new controller leader also
   * waits this long before electing. Kill-to-election is about this plus one scan.
   */
  brokerTimeoutMsDefault: 1_500,
  /** A slave that has not reached the master's log end for this long leaves the in-sync set (RocketMQ haMaxTimeSlaveNotCatchup: 15 s). */
  inSyncLagMsMaxDefault: 15_000,
  /** A slave this many bytes behind the master's log end leaves the in-sync set at once (RocketMQ haMaxGapNotInSync: 256 MiB). */
  inSyncLagBytesMaxDefault: 256 * 1024 * 1024,
  /** Brokers per group; RocketMQ deployments run 2 or 3, 16 leaves room for migrations. */
  brokersPerGroupMax: 16,
  /** Broker groups one controller tracks; each group is one small record in the store. */
  groupsMax: 1_024,
  /** Highest broker id (the broker's `--broker-id` flag allows up to 1024). */
  brokerIdMax: 1_024,
  /** Length of broker names, cluster names, incarnations and endpoints, in characters. */
  nameLengthMax: 255,
} as const;
