import { PERM_READ, PERM_READ_WRITE, type BrokerRole } from './broker-registration';
import { routeWithSelf } from './self-in-route';
import type { BrokerEndpoint, QueueData, TopicRoute } from './topic-route';

function member(brokerName: string, brokerId: number, role: BrokerRole, epoch: number): BrokerEndpoint {
  return { identity: { clusterName: 'c', brokerName, brokerId }, endpoint: `127.0.0.1:${1000 + brokerId}`, zone: '', role, epoch };
}

function queues(brokerName: string, readQueueCount: number, perm = PERM_READ_WRITE): QueueData {
  return { brokerName, readQueueCount, writeQueueCount: readQueueCount, perm, messageType: 'NORMAL' };
}

const members = (route: TopicRoute | undefined) => route?.brokers.map((b) => [b.identity.brokerName, b.identity.brokerId, b.role, b.epoch]);

describe('routeWithSelf', () => {
  const nameServerView: TopicRoute = {
    topic: 't',
    queues: [queues('a', 4), queues('b', 2)],
    brokers: [member('a', 0, 'master', 1), member('a', 1, 'slave', 1), member('b', 0, 'master', 0)],
  };

  it('routes a broker promoted a moment ago as master, and the old master drops out', () => {
    const route = routeWithSelf('t', nameServerView, { member: member('a', 1, 'master', 2), queues: queues('a', 8) });
    expect(members(route)).toEqual([['a', 1, 'master', 2], ['b', 0, 'master', 0]]);
    expect(route!.queues.map((q) => [q.brokerName, q.readQueueCount])).toEqual([['a', 8], ['b', 2]]);
  });

  it('adds a slave the name servers have not heard of yet, with the group queues from the master', () => {
    const route = routeWithSelf('t', nameServerView, { member: member('a', 2, 'slave', 1), queues: queues('a', 1, PERM_READ) });
    expect(members(route)).toEqual([['a', 0, 'master', 1], ['a', 1, 'slave', 1], ['a', 2, 'slave', 1], ['b', 0, 'master', 0]]);
    expect(route!.queues[0]).toEqual(queues('a', 4));
  });

  it('routes only itself when the name servers know nothing, and nothing without the topic', () => {
    expect(members(routeWithSelf('t', undefined, { member: member('a', 0, 'master', 0), queues: queues('a', 4) }))).toEqual([['a', 0, 'master', 0]]);
    expect(routeWithSelf('t', undefined, { member: member('a', 0, 'master', 0), queues: undefined })).toBeUndefined();
  });

  it('leaves a stale broker (an epoch below the group) out of its own answer', () => {
    const route = routeWithSelf('t', nameServerView, { member: member('a', 3, 'master', 0), queues: queues('a', 4) });
    expect(members(route)).toEqual([['a', 0, 'master', 1], ['a', 1, 'slave', 1], ['b', 0, 'master', 0]]);
  });
});
