// The official rocketmq-client-nodejs against a real name server and broker: what a user of
// the RocketMQ 5 Node.js client gets from our cluster.
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { eventually, officialSimpleConsumer, readDeadLetters } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

const simpleConsumer = (endpoint: string, group: string, topic: string, tag = '*', awaitDurationMs = 3_000): SimpleConsumer =>
  officialSimpleConsumer(endpoint, group, topic, { tag, awaitDurationMs });

async function receiveAll(consumer: SimpleConsumer, count: number, invisibleMs = 30_000, timeoutMs = 60_000): Promise<MessageView[]> {
  const received: MessageView[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const batch = await consumer.receive(32, invisibleMs);
    for (const message of batch) {
      received.push(message);
      await consumer.ack(message);
    }
  }
  return received;
}

describe('official rocketmq-client-nodejs against the broker', () => {
  // Short invisible durations keep the redelivery tests quick; the 10 s minimum has its own test.
  const local = useLocalCluster({ brokerArgs: ['--delivery-attempts-max', '3', '--invisible-ms-min', '0'], topics: ['SkeletonTopic', 'RedeliveryTopic', 'DurableTopic'], producer: true });

  it('delivers 1,000 messages with keys, tag and properties intact, each exactly once', async () => {
    const count = 1_000;
    const sent = new Map<string, { body: string; keys: string[]; tag: string; properties: Record<string, string> }>();
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - start) }, async (_, j) => {
          const i = start + j;
          const message = { body: `body-${i}-${'x'.repeat(i % 200)}`, keys: [`key-${i}`, `order-${i % 7}`], tag: `Tag${i % 3}`, properties: { seq: String(i), source: 'skeleton-test' } };
          const receipt = await local.producer.send({ topic: 'SkeletonTopic', body: Buffer.from(message.body), keys: message.keys, tag: message.tag, properties: new Map(Object.entries(message.properties)) });
          sent.set(receipt.messageId, message);
        }),
      );
    }
    expect(sent.size).toBe(count);

    const consumer = simpleConsumer(local.cluster.endpoint, 'skeleton-group', 'SkeletonTopic');
    await consumer.startup();
    try {
      const received = await receiveAll(consumer, count);
      const ids = received.map((m) => m.messageId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(received).toHaveLength(count);
      for (const message of received) {
        const original = sent.get(message.messageId);
        expect(original).toBeDefined();
        expect(message.body.toString()).toBe(original!.body);
        expect(message.keys).toEqual(original!.keys);
        expect(message.tag).toBe(original!.tag);
        expect(Object.fromEntries(message.properties)).toEqual(original!.properties);
        expect(message.corrupted).not.toBe(true); // the client sets it only on a digest mismatch
        expect(message.deliveryAttempt).toBe(1);
      }
      // Everything was acked: nothing more comes.
      expect(await consumer.receive(32, 30_000)).toEqual([]);
    } finally {
      await consumer.shutdown();
    }
  }, 120_000);

  it('redelivers a message not acked within its invisible duration, with delivery attempt 2', async () => {
    const receipt = await local.producer.send({ topic: 'RedeliveryTopic', body: Buffer.from('come back'), tag: 'Retry' });
    const consumer = simpleConsumer(local.cluster.endpoint, 'redelivery-group', 'RedeliveryTopic');
    await consumer.startup();
    try {
      const [first] = await eventually(async () => {
        const batch = await consumer.receive(1, 2_000);
        expect(batch).toHaveLength(1);
        return batch;
      });
      expect(first.messageId).toBe(receipt.messageId);
      expect(first.deliveryAttempt).toBe(1);
      // Not acked: after 2 s it is visible again.
      const second = await eventually(async () => {
        const [message] = await consumer.receive(1, 30_000);
        expect(message?.messageId).toBe(receipt.messageId);
        return message;
      }, { timeoutMs: 15_000 });
      expect(second.deliveryAttempt).toBe(2);
      // The first delivery's handle is stale now; the second one acks.
      await expect(consumer.ack(first)).rejects.toThrow(/acknowledged or delivered again/);
      await consumer.ack(second);
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);

  it('keeps acknowledged messages across a SIGKILL of the broker', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) ids.add((await local.producer.send({ topic: 'DurableTopic', body: Buffer.from(`durable-${i}`) })).messageId);
    await local.cluster.restartBroker('SIGKILL');
    const consumer = simpleConsumer(local.cluster.endpoint, 'durable-group', 'DurableTopic');
    await consumer.startup();
    try {
      const received = await receiveAll(consumer, ids.size);
      expect(new Set(received.map((m) => m.messageId))).toEqual(ids);
    } finally {
      await consumer.shutdown();
    }
  }, 90_000);

  it('keeps in-flight deliveries across a broker restart: the old handle still acks, nothing is delivered twice', async () => {
    await local.cluster.createTopic('InflightTopic');
    const receipt = await local.producer.send({ topic: 'InflightTopic', body: Buffer.from('in flight') });
    const consumer = simpleConsumer(local.cluster.endpoint, 'inflight-group', 'InflightTopic');
    await consumer.startup();
    try {
      const [message] = await eventually(async () => {
        const batch = await consumer.receive(1, 60_000);
        expect(batch).toHaveLength(1);
        return batch;
      });
      expect(message.messageId).toBe(receipt.messageId);
      // A delivery is in the commit log before the receive answers: a SIGKILL right now keeps it.
      await local.cluster.restartBroker('SIGKILL');
      expect(await consumer.receive(1, 60_000)).toEqual([]);
      await consumer.ack(message);
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);

  it('moves a message that is never acked to %DLQ%<group> after the maximum delivery attempts', async () => {
    await local.cluster.createTopic('PoisonTopic');
    const receipt = await local.producer.send({ topic: 'PoisonTopic', body: Buffer.from('poison'), keys: ['poison-key'] });
    const consumer = simpleConsumer(local.cluster.endpoint, 'poison-group', 'PoisonTopic', '*', 1_000);
    await consumer.startup();
    const attempts: number[] = [];
    try {
      // Attempts 1..3, each left to expire after 1 s; the fourth delivery never happens.
      await eventually(async () => {
        for (const message of await consumer.receive(1, 1_000)) attempts.push(message.deliveryAttempt!);
        expect(attempts).toEqual([1, 2, 3]);
      }, { timeoutMs: 20_000 });
    } finally {
      await consumer.shutdown();
    }
    const [dead] = await readDeadLetters(local.cluster.endpoint, 'poison-group');
    expect(dead.messageId).toBe(receipt.messageId);
    expect(dead.body.toString()).toBe('poison');
    expect(dead.keys).toEqual(['poison-key']);
  }, 60_000);

  it('shares a topic between two SimpleConsumers of one group (disjoint sets, union is everything) and gives another group everything', async () => {
    await local.cluster.createTopic('SharedTopic');
    const ids = new Set<string>();
    for (let start = 0; start < 300; start += 50) {
      const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => local.producer.send({ topic: 'SharedTopic', body: Buffer.from(`shared-${start + i}`) })));
      for (const receipt of receipts) ids.add(receipt.messageId);
    }
    const members = [simpleConsumer(local.cluster.endpoint, 'shared-group', 'SharedTopic', '*', 1_000), simpleConsumer(local.cluster.endpoint, 'shared-group', 'SharedTopic', '*', 1_000)];
    const other = simpleConsumer(local.cluster.endpoint, 'other-group', 'SharedTopic', '*', 1_000);
    await Promise.all([...members, other].map((consumer) => consumer.startup()));
    try {
      const got: string[][] = [[], []];
      // Both members receive at the same time, in small batches, until everything is taken.
      await Promise.all(members.map(async (member, index) => {
        const deadline = Date.now() + 20_000;
        while (got[0].length + got[1].length < ids.size && Date.now() < deadline) {
          for (const message of await member.receive(8, 30_000)) {
            got[index].push(message.messageId);
            await member.ack(message);
          }
        }
      }));
      const [a, b] = got.map((list) => new Set(list));
      expect(a.size + b.size).toBe(ids.size);
      expect([...a].filter((id) => b.has(id))).toEqual([]);
      expect(new Set([...a, ...b])).toEqual(ids);
      expect(a.size).toBeGreaterThan(0);
      expect(b.size).toBeGreaterThan(0);
      // Another group has its own progress: it gets every message too.
      const received = await receiveAll(other, ids.size, 30_000, 20_000);
      expect(new Set(received.map((m) => m.messageId))).toEqual(ids);
    } finally {
      await Promise.all([...members, other].map((consumer) => consumer.shutdown()));
    }
  }, 60_000);

  it('tells the producer clearly that a topic does not exist', async () => {
    await expect(local.producer.send({ topic: 'NoSuchTopic', body: Buffer.from('x') })).rejects.toThrow(/topic NoSuchTopic does not exist/);
  });
});
