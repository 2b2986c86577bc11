// What the name server answers about a topic and about the cluster: plain data built from
// the live brokers of the registry.
import type { BrokerIdentity, TopicMessageType } from './broker-registration';

/** The queues of a topic on one broker group (master and slaves share a brokerName). */
export interface QueueData {
  brokerName: string;
  readQueueCount: number;
  writeQueueCount: number;
  /** The topic's perm, with READ/WRITE cleared where the broker itself refuses them. */
  perm: number;
  messageType: TopicMessageType;
}

export interface BrokerEndpoint {
  identity: BrokerIdentity;
  endpoint: string;
  zone: string;
}

export interface TopicRoute {
  topic: string;
  /** One entry per broker group that holds the topic, sorted by brokerName. */
  queues: QueueData[];
  /** Every live member of those broker groups, sorted by brokerName, then brokerId. */
  brokers: BrokerEndpoint[];
}

export interface LiveBroker extends BrokerEndpoint {
  brokerPerm: number;
  topicCount: number;
  lastHeartbeatMs: number;
  leaseMs: number;
  expiresAtMs: number;
}

export interface RegistryStats {
  liveBrokerCount: number;
  /** Distinct topics held by at least one live broker. */
  topicCount: number;
}
