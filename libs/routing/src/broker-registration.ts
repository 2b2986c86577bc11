// What a broker tells the name server about itself: who it is, where clients reach it, and its
// full topic table. Plain data: the name server maps wire messages to these at its edge.

/** RocketMQ's permission bits, for topics and for a whole broker. */
export const PERM_READ = 4;
export const PERM_WRITE = 2;
export const PERM_READ_WRITE = PERM_READ | PERM_WRITE;

export type TopicMessageType = 'NORMAL' | 'FIFO' | 'DELAY' | 'TRANSACTION';

export interface BrokerIdentity {
  clusterName: string;
  brokerName: string;
  /** Stable identity inside the group; who is master is said by role and epoch, never by the id. */
  brokerId: number;
}

/** What a broker says it is; routes follow the highest epoch of each group (routed-members.ts). */
export type BrokerRole = 'master' | 'slave';

/** A topic as one broker holds it. */
export interface TopicConfig {
  name: string;
  readQueueCount: number;
  writeQueueCount: number;
  perm: number;
  messageType: TopicMessageType;
}

export interface BrokerRegistration {
  identity: BrokerIdentity;
  /** host:port where clients reach MessagingService on this broker. */
  endpoint: string;
  zone: string;
  brokerPerm: number;
  topics: readonly TopicConfig[];
  /** The lease the broker asks for; the registry clamps it (see limits.ts). */
  leaseMs: number;
  role: BrokerRole;
  /** The epoch it is master of, or, for a slave, the epoch of the master it follows. */
  epoch: number;
}

/** One key per broker process; a broker group (same brokerName) has one key per brokerId. */
export function brokerKeyOf(identity: BrokerIdentity): string {
  return JSON.stringify([identity.clusterName, identity.brokerName, identity.brokerId]);
}
