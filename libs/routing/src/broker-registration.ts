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
  /** 0 is the master of its broker group. */
  brokerId: number;
}

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
}

/** One key per broker process; a broker group (same brokerName) has one key per brokerId. */
export function brokerKeyOf(identity: BrokerIdentity): string {
  return JSON.stringify([identity.clusterName, identity.brokerName, identity.brokerId]);
}
