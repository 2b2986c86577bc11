// Two broker groups behind one name server: queue assignment for PushConsumers, producers that
// spread over both brokers and keep sending when one dies. Official client where it decides.
import * as grpc from '@grpc/grpc-js';
import { ConsumeResult, PushConsumer } from 'rocketmq-client-nodejs';
import { admin, createClient, v2, type ServiceClient } from '@rmq/contracts';
import { eventually, killAllApps, quietClientLogger, shutdownOfficialClient, startOfficialProducer, startTwoBrokerCluster, type TwoBrokerCluster } from '@rmq/testing';


function asClient(clientId: string): { metadata: grpc.Metadata; deadlineMs: number } {
  const metadata = new grpc.Metadata();
  metadata.set('x-mq-client-id', clientId);
  return { metadata, deadlineMs: 5_000 };
}

describe('two broker groups', () => {
  let cluster: TwoBrokerCluster;

  beforeAll(async () => {
    cluster = await startTwoBrokerCluster(['--push-long-polling-ms', '2000']); // PushConsumer.shutdown waits one long poll
    await cluster.createTopic('Assigned');
    await cluster.createTopic('Rebalanced');
    await cluster.createTopic('Spread');
    await cluster.createTopic('Failover');
    await cluster.createTopic('Drained');
    await cluster.createTopic('Grown');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await killAllApps();
  });

  describe('QueryAssignment', () => {
    const group = { name: 'AssignGroup' };
    const topic = { name: 'Assigned' };
    let clients: ServiceClient<typeof v2.MessagingService.method>[];
    const queuesOf = async (clientId: string, via = 0) =>
      (await clients[via].queryAssignment({ topic, group }, asClient(clientId))).assignments.map((a) => `${a.messageQueue?.broker?.name}/${a.messageQueue?.id}`);

    beforeAll(async () => {
      clients = [createClient(v2.MessagingService, cluster.endpoints['broker-a']), createClient(v2.MessagingService, cluster.endpoints['broker-b'])];
      for (const client of clients) {
        for (const clientId of ['member-1', 'member-2', 'member-3']) await client.heartbeat({ group, clientType: v2.ClientType.PUSH_CONSUMER }, asClient(clientId));
      }
    });

    afterAll(() => clients.forEach((client) => client.close()));

    it('splits the queues of both brokers over the members: disjoint, complete, sizes within one', async () => {
      const all = ['broker-a', 'broker-b'].flatMap((broker) => [0, 1, 2, 3].map((id) => `${broker}/${id}`));
      const assigned = await Promise.all(['member-1', 'member-2', 'member-3'].map((clientId) => queuesOf(clientId)));
      expect(assigned.flat().sort()).toEqual(all);
      expect(assigned.map((queues) => queues.length)).toEqual([3, 3, 2]);
    });

    it('answers the same on every broker and on every ask while membership does not change', async () => {
      const first = await queuesOf('member-2', 0);
      expect(await queuesOf('member-2', 0)).toEqual(first);
      expect(await queuesOf('member-2', 1)).toEqual(first);
    });

    it('moves the queues of a member that shuts down to the others at once', async () => {
      await clients[0].notifyClientTermination({ group }, asClient('member-3'));
      const assigned = await Promise.all(['member-1', 'member-2'].map((clientId) => queuesOf(clientId)));
      expect(assigned.map((queues) => queues.length)).toEqual([4, 4]);
      expect(new Set(assigned.flat()).size).toBe(8);
    });

    it('refuses an illegal group name with a clear status', async () => {
      const reply = await clients[0].queryAssignment({ topic, group: { name: 'bad group' } }, asClient('member-1'));
      expect(reply.status?.code).toBe(v2.Code.ILLEGAL_CONSUMER_GROUP);
      expect(reply.status?.message).toMatch(/consumer group name "bad group" is not valid/);
    });
  });

  it('rebalances PushConsumers within seconds when a third member joins, and loses no message', async () => {
    const producer = await startOfficialProducer(cluster.endpoints['broker-a']);
    const received: Set<string>[] = [new Set(), new Set(), new Set()];
    const consumers: PushConsumer[] = [];
    const startMember = async (index: number) => {
      const consumer = new PushConsumer({
        endpoints: cluster.endpoints[index % 2 === 0 ? 'broker-a' : 'broker-b'],
        namespace: '',
        consumerGroup: 'RebalanceGroup',
        subscriptions: new Map([['Rebalanced', '*']]),
        messageListener: {
          consume: (message) => {
            received[index].add(message.body.toString());
            return ConsumeResult.SUCCESS;
          },
        },
        logger: quietClientLogger,
      });
      await consumer.startup();
      consumers.push(consumer);
    };
    const sent: string[] = [];
    const sendBatch = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const body = `m-${sent.length}`;
        await producer.send({ topic: 'Rebalanced', body: Buffer.from(body) });
        sent.push(body);
      }
    };
    const union = () => new Set(received.flatMap((set) => [...set]));
    try {
      await startMember(0);
      await startMember(1);
      await sendBatch(80);
      await eventually(() => expect(union().size).toBe(sent.length), { timeoutMs: 20_000 });
      expect(received[0].size).toBeGreaterThan(0);
      expect(received[1].size).toBeGreaterThan(0);
      const joinedMs = Date.now();
      await startMember(2);
      // Keep sending until the newcomer gets messages of its own: its queues moved to it.
      await eventually(async () => {
        await sendBatch(8);
        expect(received[2].size).toBeGreaterThan(0);
      }, { timeoutMs: 20_000, intervalMs: 200 });
      const rebalanceMs = Date.now() - joinedMs;
      expect(rebalanceMs).toBeLessThan(20_000);
      await eventually(() => expect(union().size).toBe(sent.length), { timeoutMs: 20_000 });
      expect([...union()].sort()).toEqual([...sent].sort());
    } finally {
      await Promise.all(consumers.map((consumer) => shutdownOfficialClient(consumer)));
      await shutdownOfficialClient(producer);
    }
  }, 90_000);

  it('spreads an official producer\'s messages over both broker groups', async () => {
    const producer = await startOfficialProducer(cluster.endpoints['broker-a']);
    try {
      for (let i = 0; i < 40; i++) await producer.send({ topic: 'Spread', body: Buffer.from(`s-${i}`) });
    } finally {
      await shutdownOfficialClient(producer);
    }
    const stored = await Promise.all((['broker-a', 'broker-b'] as const).map(async (broker) => {
      const client = createClient(admin.AdminService, cluster.endpoints[broker]);
      try {
        const { queues } = await client.getTopic({ name: 'Spread' }, { deadlineMs: 5_000 });
        return queues.reduce((sum, queue) => sum + Number(queue.maxOffset - queue.minOffset), 0);
      } finally {
        client.close();
      }
    }));
    expect(stored[0] + stored[1]).toBe(40);
    expect(stored[0]).toBeGreaterThanOrEqual(10);
    expect(stored[1]).toBeGreaterThanOrEqual(10);
  }, 30_000);

  it('honours a read-only broker: routes offer it for reading only, sends go elsewhere, consumers still read it', async () => {
    const adminB = createClient(admin.AdminService, cluster.endpoints['broker-b']);
    const messagingB = createClient(v2.MessagingService, cluster.endpoints['broker-b']);
    const messagingA = createClient(v2.MessagingService, cluster.endpoints['broker-a']);
    const permissionsOf = async () => {
      const route = await messagingA.queryRoute({ topic: { name: 'Drained' } }, { deadlineMs: 5_000 });
      return Object.fromEntries(route.messageQueues.map((queue) => [queue.broker?.name, v2.Permission[queue.permission]]));
    };
    try {
      const stored = await messagingB.sendMessage({ messages: [{ topic: { name: 'Drained' }, body: Buffer.from('stored before'), systemProperties: { messageId: 'drain-0', messageType: v2.MessageType.NORMAL } }] }, { deadlineMs: 5_000 });
      expect(stored.status?.code).toBe(v2.Code.OK);
      expect((await adminB.setBrokerPermission({ perm: 4 }, { deadlineMs: 5_000 })).perm).toBe(4);
      expect((await adminB.getBrokerStatus({}, { deadlineMs: 5_000 })).brokerPerm).toBe(4);
      await eventually(async () => expect(await permissionsOf()).toEqual({ 'broker-a': 'READ_WRITE', 'broker-b': 'READ' }), { timeoutMs: 10_000 });

      const refused = await messagingB.sendMessage({ messages: [{ topic: { name: 'Drained' }, body: Buffer.from('x'), systemProperties: { messageId: 'drain-1', messageType: v2.MessageType.NORMAL } }] }, { deadlineMs: 5_000 });
      expect(refused.status?.code).toBe(v2.Code.FORBIDDEN);
      expect(refused.status?.message).toMatch(/broker broker-b does not accept messages now \(its permission is read\); send to another broker/);

      const producer = await startOfficialProducer(cluster.endpoints['broker-a']);
      try {
        for (let i = 0; i < 10; i++) await producer.send({ topic: 'Drained', body: Buffer.from(`drained-${i}`) });
      } finally {
        await shutdownOfficialClient(producer);
      }
      const { queues } = await adminB.getTopic({ name: 'Drained' }, { deadlineMs: 5_000 });
      expect(queues.reduce((sum, queue) => sum + Number(queue.maxOffset), 0)).toBe(1); // only the one stored before

      const received = messagingB.receiveMessage(
        { group: { name: 'DrainGroup' }, messageQueue: { topic: { name: 'Drained' }, id: 0 }, batchSize: 8, invisibleDuration: { seconds: 30n }, longPollingTimeout: { seconds: 1n } },
        { deadlineMs: 10_000 },
      );
      const bodies: string[] = [];
      for await (const frame of received as AsyncIterable<v2.ReceiveMessageResponse>) if (frame.content.case === 'message') bodies.push(Buffer.from(frame.content.value.body).toString());
      expect(bodies).toEqual(['stored before']);

      await adminB.setBrokerPermission({ perm: 6 }, { deadlineMs: 5_000 });
      await eventually(async () => expect(await permissionsOf()).toEqual({ 'broker-a': 'READ_WRITE', 'broker-b': 'READ_WRITE' }), { timeoutMs: 10_000 });
      const invalid = await adminB.setBrokerPermission({ perm: 0 }, { deadlineMs: 5_000 }).catch((error: Error) => error);
      expect(String(invalid)).toMatch(/a broker permission is READ \(4\), WRITE \(2\) or both \(6\), got 0/);
    } finally {
      adminB.close();
      messagingB.close();
      messagingA.close();
    }
  }, 60_000);

  it('routes and assigns the new queues of a topic whose queue count grew, without restarts', async () => {
    const adminA = createClient(admin.AdminService, cluster.endpoints['broker-a']);
    const messaging = createClient(v2.MessagingService, cluster.endpoints['broker-b']);
    const queuesOfBrokerA = async () => (await messaging.queryRoute({ topic: { name: 'Grown' } }, { deadlineMs: 5_000 })).messageQueues.filter((queue) => queue.broker?.name === 'broker-a').length;
    try {
      expect(await queuesOfBrokerA()).toBe(4);
      const { topic } = await adminA.updateTopic({ name: 'Grown', queueCount: 6 }, { deadlineMs: 5_000 });
      expect(topic?.readQueueCount).toBe(6);
      await eventually(async () => expect(await queuesOfBrokerA()).toBe(6), { timeoutMs: 10_000 });
      await messaging.heartbeat({ group: { name: 'GrownGroup' }, clientType: v2.ClientType.PUSH_CONSUMER }, asClient('only-member'));
      const assigned = await messaging.queryAssignment({ topic: { name: 'Grown' }, group: { name: 'GrownGroup' } }, asClient('only-member'));
      expect(assigned.assignments).toHaveLength(10);
      const shrink = await adminA.updateTopic({ name: 'Grown', queueCount: 2 }, { deadlineMs: 5_000 }).catch((error: Error) => error);
      expect(String(shrink)).toMatch(/a queue count can only grow/);
    } finally {
      adminA.close();
      messaging.close();
    }
  }, 30_000);

  it('keeps an official producer sending when one of the two brokers is killed', async () => {
    const producer = await startOfficialProducer(cluster.endpoints['broker-a']);
    try {
      for (let i = 0; i < 10; i++) await producer.send({ topic: 'Failover', body: Buffer.from(`before-${i}`) });
      await cluster.brokers['broker-b'].kill('SIGKILL');
      const receipts = [];
      for (let i = 0; i < 30; i++) receipts.push(await producer.send({ topic: 'Failover', body: Buffer.from(`after-${i}`) }));
      expect(receipts.every((receipt) => typeof receipt?.messageId === 'string')).toBe(true);
    } finally {
      await shutdownOfficialClient(producer);
    }
  }, 60_000);
});
