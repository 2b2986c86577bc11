// Every bound of the route registry, with its unit and why.

/** Shortest lease granted: below this a broker's heartbeat jitter alone could evict it. */
export const LEASE_MS_MIN = 3_000;
/** Longest lease granted: RocketMQ evicts a silent broker after 120 s; we never wait longer. */
export const LEASE_MS_MAX = 120_000;
/** Lease for a broker that asks for none (0): three of the registrar's default 10 s heartbeats. */
export const LEASE_MS_DEFAULT = 30_000;

/** Live brokers one name server tracks; a bound on memory and on route computation time. */
export const BROKER_COUNT_MAX = 4_096;
/** Broker groups whose highest epoch the name server remembers (groups with live members are never forgotten). */
export const GROUP_EPOCH_COUNT_MAX = BROKER_COUNT_MAX;
/** Topics in one registration: the one limit brokers also apply when creating topics. */
export { TOPIC_COUNT_PER_BROKER_MAX } from '@rmq/base';
/** Queues of one topic on one broker (RocketMQ's defaults are 8 or 16). */
export const QUEUE_COUNT_MAX = 1_024;
/** Cluster, broker and zone names. */
export const NAME_LENGTH_MAX = 127;
/** Every permission bit RocketMQ defines: PRIORITY 8, READ 4, WRITE 2, INHERIT 1. */
export const PERM_BITS_MAX = 0b1111;

/**
 * A consumer group member not heard from for this long is gone: three of the official clients'
 * 10 s heartbeats, so one lost heartbeat never moves queues.
 */
export const MEMBER_EXPIRY_MS = 30_000;
/** Members one broker tracks per group; a bound on memory and on assignment time. */
export const GROUP_MEMBER_COUNT_MAX = 10_000;
/** Consumer groups one broker tracks members of (a client naming made-up groups cannot grow it). */
export const GROUP_COUNT_MAX = 10_000;

// Producer load balancing (broker-health.ts).
/** A broker whose send failed is avoided this long, doubling per further failure... */
export const AVOID_MS_INITIAL = 1_000;
/** ...up to this: a broker back from a restart is tried again within half a minute. */
export const AVOID_MS_MAX = 30_000;
/** Weight of the newest sample in a broker's latency average. */
export const LATENCY_EWMA_WEIGHT = 0.2;
/** A broker is slow when its average latency is this many times the fastest broker's... */
export const SLOW_FACTOR = 4;
/** ...and above this: below it every broker is fast enough and balance matters more. */
export const SLOW_LATENCY_MS_MIN = 50;
/** A slow broker still gets one of this many selections, so its average can recover. */
export const SLOW_PROBE_EVERY = 20;

/** The lease the registry grants for a requested one. */
export function clampLeaseMs(requestedMs: number): number {
  if (!Number.isFinite(requestedMs) || requestedMs <= 0) return LEASE_MS_DEFAULT;
  return Math.min(LEASE_MS_MAX, Math.max(LEASE_MS_MIN, Math.floor(requestedMs)));
}
