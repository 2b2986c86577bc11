import { PERM_READ, PERM_READ_WRITE } from './broker-registration';
import { routeQueues } from './route-queues';
import type { BrokerEndpoint, TopicRoute } from './topic-route';

function member(brokerName: string, brokerId: number, role: 'master' | 'slave', port: number): BrokerEndpoint {
  return { identity: { clusterName: 'c', brokerName, brokerId }, endpoint: `127.0.0.1:${port}`, zone: '', role, epoch: 4 };
}

describe('routeQueues', () => {
  it('lists each slave as one queue-0 entry of its group, before the master and its queues', () => {
    const route: TopicRoute = {
      topic: 't',
      queues: [
        { brokerName: 'a', readQueueCount: 3, writeQueueCount: 2, perm: PERM_READ_WRITE, messageType: 'FIFO' },
        { brokerName: 'b', readQueueCount: 1, writeQueueCount: 1, perm: PERM_READ, messageType: 'FIFO' },
      ],
      brokers: [member('a', 7, 'master', 1), member('a', 9, 'slave', 3), member('a', 0, 'slave', 2), member('b', 1, 'master', 4)],
    };
    expect(routeQueues(route).map((q) => [q.brokerName, q.routeBrokerId, q.endpoint, q.queueId, q.perm])).toEqual([
      ['a', 1, '127.0.0.1:2', 0, PERM_READ_WRITE],
      ['a', 2, '127.0.0.1:3', 0, PERM_READ_WRITE],
      ['a', 0, '127.0.0.1:1', 0, PERM_READ_WRITE],
      ['a', 0, '127.0.0.1:1', 1, PERM_READ_WRITE],
      ['a', 0, '127.0.0.1:1', 2, PERM_READ_WRITE],
      ['b', 0, '127.0.0.1:4', 0, PERM_READ],
    ]);
  });

  it('lists only the slaves of a group whose master is gone, and nothing for no route', () => {
    const route: TopicRoute = {
      topic: 't',
      queues: [{ brokerName: 'a', readQueueCount: 4, writeQueueCount: 4, perm: PERM_READ_WRITE, messageType: 'NORMAL' }],
      brokers: [member('a', 1, 'slave', 2)],
    };
    expect(routeQueues(route).map((q) => [q.routeBrokerId, q.queueId])).toEqual([[1, 0]]);
    expect(routeQueues(undefined)).toEqual([]);
  });
});
