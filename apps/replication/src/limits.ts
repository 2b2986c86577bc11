// Every bound of the controller app, with its unit and why it is what it is.

/** How long in-flight calls may finish during shutdown before they are cut. */
export const GRPC_SHUTDOWN_GRACE_MS = 2_000;

/** Bound on one etcd call (a read or a compare-and-set transaction); past it the outcome is unknown and the group is re-read. */
export const ETCD_CALL_TIMEOUT_MS = 2_000;

/** TTL of the leader's etcd lease, in seconds (etcd's minimum is about 1.5 s): a dead leader is replaced within about this long. */
export const ETCD_LEADER_LEASE_TTL_S = 2;

/** Wait before a controller campaigns again after losing its lease or failing to reach etcd. */
export const ETCD_CAMPAIGN_RETRY_MS = 500;

/**
 * Wait before etcd3 opens a lost watch stream again, every time. Its default backs off to 30 s:
 * a follower would name a stale leader that long after an etcd restart (the lease is 2 s), and
 * the pending retry (a timer etcd3 does not clear on close) kept a closed client's process alive.
 */
export const ETCD_WATCH_RETRY_MS = 500;

/** How often a leading controller reads its own election key back; a few times per lease TTL. */
export const LEADER_VERIFY_INTERVAL_MS = 400;
