// The one place that turns NameServerService messages into routing domain types and back.
// Wire quirks stay here: int64 as bigint, enums as numbers, proto3's "unset" as 0.
import { RmqError } from '@rmq/base';
import { create, namesrv, topicMessageTypeFromWire, topicMessageTypeToWire } from '@rmq/contracts';
import {
  PERM_READ_WRITE,
  type BrokerEndpoint,
  type BrokerIdentity,
  type BrokerRegistration,
  type BrokerRole,
  type LiveBroker,
  type TopicConfig,
  type TopicRoute,
} from '@rmq/routing';

const ROLE_FROM_WIRE: Record<namesrv.BrokerRole, BrokerRole> = {
  // A registration from before roles: the broker served writes, so it counts as a master.
  [namesrv.BrokerRole.UNSPECIFIED]: 'master',
  [namesrv.BrokerRole.MASTER]: 'master',
  [namesrv.BrokerRole.SLAVE]: 'slave',
};

const ROLE_TO_WIRE: Record<BrokerRole, namesrv.BrokerRole> = {
  master: namesrv.BrokerRole.MASTER,
  slave: namesrv.BrokerRole.SLAVE,
};

export function registrationFromWire(request: namesrv.RegisterBrokerRequest): BrokerRegistration {
  const role = ROLE_FROM_WIRE[request.role] as BrokerRole | undefined;
  if (!role) throw new RmqError('BAD_REQUEST', { reason: `unknown broker role ${request.role}` });
  if (request.epoch < 0n || request.epoch > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RmqError('BAD_REQUEST', { reason: `epoch must be in 0..${Number.MAX_SAFE_INTEGER}, got ${request.epoch}` });
  }
  return {
    role,
    epoch: Number(request.epoch),
    identity: identityFromWire(request.broker),
    endpoint: request.endpoint,
    zone: request.zone,
    // proto3 cannot tell an unset broker_perm from 0; a broker that serves nothing unregisters.
    brokerPerm: request.brokerPerm === 0 ? PERM_READ_WRITE : request.brokerPerm,
    topics: request.topics.map(topicFromWire),
    leaseMs: Number(request.leaseMs),
  };
}

export function identityFromWire(identity: namesrv.BrokerIdentity | undefined): BrokerIdentity {
  if (!identity) throw new RmqError('BAD_REQUEST', { reason: 'broker identity is missing' });
  if (identity.brokerId < 0n || identity.brokerId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RmqError('BAD_REQUEST', { reason: `broker id must be in 0..${Number.MAX_SAFE_INTEGER}, got ${identity.brokerId}` });
  }
  return { clusterName: identity.clusterName, brokerName: identity.brokerName, brokerId: Number(identity.brokerId) };
}

function topicFromWire(topic: namesrv.TopicConfig): TopicConfig {
  const messageType = topicMessageTypeFromWire(topic.messageType);
  if (!messageType) throw new RmqError('BAD_REQUEST', { reason: `topic "${topic.name}" has unknown message type ${topic.messageType}` });
  return {
    name: topic.name,
    readQueueCount: topic.readQueueCount,
    writeQueueCount: topic.writeQueueCount,
    perm: topic.perm,
    messageType,
  };
}

/** An unknown topic gets an empty route, not an error: the caller decides what that means. */
export function routeToWire(topic: string, route: TopicRoute | undefined): namesrv.GetTopicRouteResponse {
  return create(namesrv.GetTopicRouteResponseSchema, {
    topic,
    queues: (route?.queues ?? []).map((queue) => ({ ...queue, messageType: topicMessageTypeToWire(queue.messageType) })),
    brokers: (route?.brokers ?? []).map(endpointToWire),
  });
}

export function clusterInfoToWire(brokers: readonly LiveBroker[]): namesrv.GetClusterInfoResponse {
  return create(namesrv.GetClusterInfoResponseSchema, {
    brokers: brokers.map((broker) => ({
      broker: endpointToWire(broker),
      lastHeartbeatMs: BigInt(broker.lastHeartbeatMs),
      topicCount: broker.topicCount,
      brokerPerm: broker.brokerPerm,
      routed: broker.routed,
    })),
  });
}

function endpointToWire(endpoint: BrokerEndpoint): namesrv.BrokerEndpoint {
  return create(namesrv.BrokerEndpointSchema, {
    broker: { ...endpoint.identity, brokerId: BigInt(endpoint.identity.brokerId) },
    endpoint: endpoint.endpoint,
    zone: endpoint.zone,
    role: ROLE_TO_WIRE[endpoint.role],
    epoch: BigInt(endpoint.epoch),
  });
}
