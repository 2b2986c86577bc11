import type { MessageInitShape } from '@bufbuild/protobuf';
import { isRmqError } from '@rmq/base';
import { create, namesrv } from '@rmq/contracts';
import { PERM_READ, PERM_READ_WRITE } from '@rmq/routing';
import { clusterInfoToWire, registrationFromWire, routeToWire } from './route-mapping';

type RequestBody = Exclude<MessageInitShape<typeof namesrv.RegisterBrokerRequestSchema>, { $typeName: string }>;

function request(init: RequestBody = {}): namesrv.RegisterBrokerRequest {
  return create(namesrv.RegisterBrokerRequestSchema, {
    broker: { clusterName: 'c', brokerName: 'b', brokerId: 1n },
    endpoint: '127.0.0.1:10911',
    topics: [{ name: 't', readQueueCount: 2, writeQueueCount: 2, perm: PERM_READ, messageType: namesrv.TopicMessageType.FIFO }],
    leaseMs: 5_000n,
    brokerPerm: PERM_READ,
    ...init,
  });
}

function badRequestReason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isRmqError(error, 'BAD_REQUEST')) return String(error.params.reason);
    throw error;
  }
  throw new Error('expected a BAD_REQUEST');
}

describe('route mapping', () => {
  it('maps a registration to domain types, int64 fields to numbers', () => {
    expect(registrationFromWire(request())).toEqual({
      identity: { clusterName: 'c', brokerName: 'b', brokerId: 1 },
      endpoint: '127.0.0.1:10911',
      zone: '',
      brokerPerm: PERM_READ,
      topics: [{ name: 't', readQueueCount: 2, writeQueueCount: 2, perm: PERM_READ, messageType: 'FIFO' }],
      leaseMs: 5_000,
      role: 'master',
      epoch: 0,
    });
  });

  it('reads role and epoch; a registration without a role is a master', () => {
    const slave = registrationFromWire(request({ role: namesrv.BrokerRole.SLAVE, epoch: 7n }));
    expect([slave.role, slave.epoch]).toEqual(['slave', 7]);
    expect(registrationFromWire(request({ role: namesrv.BrokerRole.UNSPECIFIED })).role).toBe('master');
  });

  it('reads an unset broker perm and an unspecified message type as their RocketMQ defaults', () => {
    const registration = registrationFromWire(
      request({ brokerPerm: 0, topics: [{ name: 't', messageType: namesrv.TopicMessageType.UNSPECIFIED }] }),
    );
    expect(registration.brokerPerm).toBe(PERM_READ_WRITE);
    expect(registration.topics[0].messageType).toBe('NORMAL');
  });

  it.each<[string, RequestBody, string]>([
    ['a missing identity', { broker: undefined }, 'broker identity is missing'],
    ['a negative broker id', { broker: { clusterName: 'c', brokerName: 'b', brokerId: -1n } }, 'broker id'],
    ['a broker id beyond 2^53', { broker: { clusterName: 'c', brokerName: 'b', brokerId: 2n ** 60n } }, 'broker id'],
    ['an unknown message type', { topics: [{ name: 't', messageType: 9 as namesrv.TopicMessageType }] }, 'unknown message type 9'],
    ['an unknown role', { role: 9 as namesrv.BrokerRole }, 'unknown broker role 9'],
    ['a negative epoch', { epoch: -1n }, 'epoch must be'],
  ])('refuses %s', (_what, init, reason) => {
    expect(badRequestReason(() => registrationFromWire(request(init)))).toContain(reason);
  });

  it('maps an unknown topic to an empty route with the topic name', () => {
    const route = routeToWire('nothing', undefined);
    expect([route.topic, route.queues, route.brokers]).toEqual(['nothing', [], []]);
  });

  it('maps a route and cluster info back to wire messages', () => {
    const identity = { clusterName: 'c', brokerName: 'b', brokerId: 2 };
    const route = routeToWire('t', {
      topic: 't',
      queues: [{ brokerName: 'b', readQueueCount: 1, writeQueueCount: 1, perm: PERM_READ_WRITE, messageType: 'TRANSACTION' }],
      brokers: [{ identity, endpoint: 'h:1', zone: 'z', role: 'slave', epoch: 3 }],
    });
    expect(route.queues[0].messageType).toBe(namesrv.TopicMessageType.TRANSACTION);
    expect(route.brokers[0].broker?.brokerId).toBe(2n);
    expect([route.brokers[0].role, route.brokers[0].epoch]).toEqual([namesrv.BrokerRole.SLAVE, 3n]);
    const info = clusterInfoToWire([
      { identity, endpoint: 'h:1', zone: 'z', role: 'master', epoch: 1, brokerPerm: PERM_READ, topicCount: 3, lastHeartbeatMs: 1_700_000_000_000, leaseMs: 3_000, expiresAtMs: 1_700_000_003_000, routed: false },
    ]);
    expect(info.brokers[0]).toMatchObject({ lastHeartbeatMs: 1_700_000_000_000n, topicCount: 3, brokerPerm: PERM_READ, routed: false });
  });
});
