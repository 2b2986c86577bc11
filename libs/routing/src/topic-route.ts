// What the name server answers about a topic and about the cluster: plain data built from
// the live brokers of the registry.
import type { BrokerIdentity, BrokerRole, TopicMessageType } from './broker-registration';

/** The queues of a topic on one broker group (master and slaves share a brokerName); the master speaks for them. */
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
  role: BrokerRole;
  epoch: number;
}

export interface TopicRoute {
  topic: string;
  /** One entry per broker group that holds the topic, sorted by brokerName. */
  queues: QueueData[];
  /**
   * The routed members of those groups, by brokerName: the master of the group's highest epoch
   * (when one is live), then the slaves of that epoch by brokerId (routed-members.ts).
   */
  brokers: BrokerEndpoint[];
}

export interface LiveBroker extends BrokerEndpoint {
  brokerPerm: number;
  topicCount: number;
  lastHeartbeatMs: number;
  leaseMs: number;
  expiresAtMs: number;
  /** False when routes leave the broker out: its epoch is below its group's highest, or it lost a tie. */
  routed: boolean;
}

export interface RegistryStats {
  liveBrokerCount: number;
  /** Distinct topics held by at least one live broker. */
  topicCount: number;
}
