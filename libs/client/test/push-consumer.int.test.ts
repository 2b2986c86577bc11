// Our PushConsumer against two real broker groups: members of a group share the queues and
// every message is consumed; a failing listener's message comes back with the next attempt;
// close() does not wait out a long poll.
import { killAllApps, startTwoBrokerCluster, eventually, type TwoBrokerCluster } from '@rmq/testing';
import { Producer, PushConsumer, type ConsumeResult, type ReceivedMessage } from '../src';

describe('the SDK PushConsumer', () => {
  let cluster: TwoBrokerCluster;
  let producer: Producer;
  const consumers: PushConsumer[] = [];

  beforeAll(async () => {
    cluster = await startTwoBrokerCluster(['--retry-delays', '200ms']);
    await cluster.createTopic('PushShared');
    await cluster.createTopic('PushRetried');
    await cluster.createTopic('PushBounded');
    await cluster.createTopic('PushStarved');
    producer = Producer.start({ endpoints: cluster.endpoints['broker-a'] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(consumers.map((consumer) => consumer.close()));
    await producer?.close();
    await cluster?.stop();
    await killAllApps();
  });

  it('shares the queues of both brokers between two members, and consumes every message', async () => {
    const seen: Map<string, number>[] = [new Map(), new Map()];
    for (const index of [0, 1]) {
      consumers.push(await PushConsumer.start({
        endpoints: cluster.endpoints[index === 0 ? 'broker-a' : 'broker-b'],
        group: 'SdkPushGroup',
        subscriptions: { PushShared: '*' },
        assignmentIntervalMs: 300,
        listener: (message) => {
          seen[index].set(message.body.toString(), (seen[index].get(message.body.toString()) ?? 0) + 1);
          return 'success';
        },
      }));
    }
    const [first, second] = consumers;
    await eventually(() => {
      const queues = [...first.assignedQueues(), ...second.assignedQueues()];
      expect(first.assignedQueues().length).toBe(4);
      expect(new Set(queues).size).toBe(8); // every queue of both brokers, each to one member
    }, { timeoutMs: 10_000 });
    const bodies = Array.from({ length: 400 }, (_, i) => `shared-${i}`);
    await Promise.all(bodies.map((body) => producer.send({ topic: 'PushShared', body })));
    await eventually(() => expect(seen[0].size + seen[1].size).toBe(bodies.length), { timeoutMs: 20_000 });
    expect([...seen[0].keys(), ...seen[1].keys()].sort()).toEqual([...bodies].sort());
    expect(seen[0].size).toBeGreaterThan(0);
    expect(seen[1].size).toBeGreaterThan(0);
  }, 60_000);

  it('never has more messages in the listener than its concurrency, over many queues', async () => {
    let inListener = 0;
    let most = 0;
    let done = 0;
    const consumer = await PushConsumer.start({
      endpoints: cluster.endpoints['broker-a'],
      group: 'SdkBoundedGroup',
      subscriptions: { PushBounded: '*' },
      concurrency: 2,
      listener: async (): Promise<ConsumeResult> => {
        most = Math.max(most, ++inListener);
        await new Promise((resolve) => setImmediate(resolve));
        inListener--;
        done++;
        return 'success';
      },
    });
    consumers.push(consumer);
    await Promise.all(Array.from({ length: 200 }, (_, i) => producer.send({ topic: 'PushBounded', body: `b-${i}` })));
    await eventually(() => expect(done).toBe(200), { timeoutMs: 20_000 });
    expect(most).toBeLessThanOrEqual(2);
    expect(consumer.assignedQueues()).toHaveLength(8); // the only member reads every queue of both brokers
  }, 60_000);

  it('does not let a long poll on an empty queue hold the listener room a message elsewhere needs', async () => {
    // One message at a time in the listener, 8 queues, long polls of 60 s: most of the receive loops
    // wait on empty queues. Each message sent must still be consumed long before any poll ends (a
    // loop that held the listener's only slot while it polled made it wait out the 60 s).
    const consumed: string[] = [];
    const consumer = await PushConsumer.start({
      endpoints: cluster.endpoints['broker-a'],
      group: 'SdkStarvedGroup',
      subscriptions: { PushStarved: '*' },
      concurrency: 1,
      longPollingMs: 60_000,
      listener: (message) => (consumed.push(message.body.toString()), 'success'),
    });
    consumers.push(consumer);
    await eventually(() => expect(consumer.assignedQueues()).toHaveLength(8));
    for (let i = 0; i < 8; i++) {
      await producer.send({ topic: 'PushStarved', body: `starved-${i}` });
      await eventually(() => expect(consumed).toContain(`starved-${i}`), { timeoutMs: 15_000 });
    }
  }, 180_000);

  it('brings back a message whose listener failed, with the next delivery attempt, until it succeeds', async () => {
    const attempts: number[] = [];
    const consumer = await PushConsumer.start({
      endpoints: cluster.endpoints['broker-a'],
      group: 'SdkRetryGroup',
      subscriptions: { PushRetried: '*' },
      listener: (message: ReceivedMessage) => {
        attempts.push(message.deliveryAttempt);
        if (message.deliveryAttempt < 3) throw new Error('not yet');
        return 'success';
      },
    });
    consumers.push(consumer);
    await producer.send({ topic: 'PushRetried', body: 'try again' });
    await eventually(() => expect(attempts).toEqual([1, 2, 3]), { timeoutMs: 20_000 });
    const startedMs = Date.now();
    await consumer.close();
    expect(Date.now() - startedMs).toBeLessThan(5_000); // the long polls were cancelled, not waited out
  }, 60_000);
});
