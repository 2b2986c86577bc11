// Our SDK against two real broker groups: batching, spreading, message groups, a bad message in
// a batch, failover and recovery of a broker, and the SimpleConsumer round trip.
import { admin, createClient } from '@rmq/contracts';
import { killAllApps, startTwoBrokerCluster, eventually, type TwoBrokerCluster, scrapeMetrics } from '@rmq/testing';
import { ClientError, Producer, SimpleConsumer, type ReceivedMessage, type SendReceipt } from '../src';

async function sendRpcCount(cluster: TwoBrokerCluster): Promise<number> {
  let count = 0;
  for (const broker of Object.values(cluster.brokers)) {
    if (broker.child.exitCode !== null || broker.child.signalCode !== null) continue;
    const metrics = await scrapeMetrics(broker);
    for (const match of metrics.matchAll(/rocketmq_rpc_latency_count\{[^}]*request_code="SendMessage"[^}]*\} (\d+)/g)) count += Number(match[1]);
  }
  return count;
}

describe('the rmq SDK against two broker groups', () => {
  let cluster: TwoBrokerCluster;
  let producer: Producer;

  beforeAll(async () => {
    cluster = await startTwoBrokerCluster(['--flush-mode', 'async']);
    await cluster.createTopic('SdkTopic');
    await cluster.createTopic('SdkGroups', { messageType: 2 /* FIFO */ });
    await cluster.createTopic('SdkFailover');
    producer = Producer.start({ endpoints: `${cluster.endpoints['broker-a']};${cluster.endpoints['broker-b']}` });
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    await cluster?.stop();
    await killAllApps();
  });

  it('carries concurrent sends in few SendMessage calls, spread over both brokers, and a SimpleConsumer gets each once, intact', async () => {
    const callsBefore = await sendRpcCount(cluster);
    const count = 2_000;
    const receipts = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        producer.send({ topic: 'SdkTopic', body: `body-${i}`, tag: i % 2 === 0 ? 'even' : 'odd', keys: [`key-${i}`], properties: { index: String(i) } }),
      ),
    );
    const calls = (await sendRpcCount(cluster)) - callsBefore;
    expect(calls).toBeLessThan(count / 8); // batches of many messages, not one call each
    const perBroker = receipts.reduce<Record<string, number>>((counts, receipt) => ({ ...counts, [receipt.brokerName]: (counts[receipt.brokerName] ?? 0) + 1 }), {});
    expect(perBroker['broker-a']).toBeGreaterThan(count / 4);
    expect(perBroker['broker-b']).toBeGreaterThan(count / 4);
    expect(new Set(receipts.map((receipt) => receipt.messageId)).size).toBe(count);

    const consumer = SimpleConsumer.start({ endpoints: cluster.endpoints['broker-b'], group: 'SdkGroup', subscriptions: { SdkTopic: '*' }, awaitMs: 1_000 });
    const seen = new Map<string, ReceivedMessage>();
    try {
      await eventually(async () => {
        const messages = await consumer.receive({ countMax: 32 });
        for (const message of messages) {
          expect(seen.has(message.messageId)).toBe(false);
          seen.set(message.messageId, message);
        }
        if (messages.length > 0) await consumer.ack(messages);
        expect(seen.size).toBe(count);
      }, { timeoutMs: 60_000, intervalMs: 0 });
    } finally {
      await consumer.close();
    }
    for (const receipt of receipts) {
      const message = seen.get(receipt.messageId)!;
      const index = Number(message.properties.index);
      expect(message).toMatchObject({ topic: 'SdkTopic', tag: index % 2 === 0 ? 'even' : 'odd', keys: [`key-${index}`], brokerName: receipt.brokerName });
      expect(message.body.toString()).toBe(`body-${index}`);
    }
  }, 120_000);

  it('keeps a message group on one broker and one queue, in send order, also when sent all at once', async () => {
    const receipts = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic: 'SdkGroups', body: `g-${i}`, messageGroup: 'order-42' })));
    expect(new Set(receipts.map((receipt) => receipt.brokerName)).size).toBe(1);
    const offsets = receipts.map((receipt) => receipt.queueOffset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(30);
  });

  it('fails only the bad message of a batch, with the broker\'s reason, and stores the rest', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'SdkTopic', body: `mixed-${i}`, tag: i === 7 ? 'bad tag' : 'fine' })),
    );
    const rejected = results.flatMap((result, i) => (result.status === 'rejected' ? [[i, result.reason]] : []));
    expect(rejected).toHaveLength(1);
    const [index, reason] = rejected[0] as [number, ClientError];
    expect(index).toBe(7);
    expect(reason).toBeInstanceOf(ClientError);
    expect(reason.code).toBe('ILLEGAL_MESSAGE_TAG');
    expect(reason.message).toMatch(/tag "bad tag" is not valid/);
  });

  it('refuses what it can tell is wrong before sending', async () => {
    await expect(producer.send({ topic: '', body: 'x' })).rejects.toMatchObject({ code: 'ILLEGAL_TOPIC' });
    await expect(producer.send({ topic: 'SdkTopic', body: '' })).rejects.toMatchObject({ code: 'MESSAGE_BODY_EMPTY' });
    await expect(producer.send({ topic: 'NoSuchTopic', body: 'x' })).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
  });

  it('stamps messages with its injected clock (born time, message id)', async () => {
    const bornAtMs = Date.UTC(2030, 0, 1, 12, 0, 0);
    const clocked = Producer.start({ endpoints: cluster.endpoints['broker-a'], clock: { nowMs: () => bornAtMs } });
    const consumer = SimpleConsumer.start({ endpoints: cluster.endpoints['broker-a'], group: 'SdkClock', subscriptions: { SdkClocked: '*' }, awaitMs: 1_000 });
    try {
      await cluster.createTopic('SdkClocked');
      const receipt = await clocked.send({ topic: 'SdkClocked', body: 'from 2030' });
      const seconds = Math.floor((bornAtMs - Date.UTC(2021, 0, 1)) / 1000).toString(16).toUpperCase().padStart(8, '0');
      expect(receipt.messageId.slice(18, 26)).toBe(seconds); // the id's time part
      const received = await eventually(async () => {
        const messages = await consumer.receive({ countMax: 1 });
        expect(messages).toHaveLength(1);
        return messages[0];
      });
      expect(received.bornTimestampMs).toBe(bornAtMs);
      await consumer.ack([received]);
    } finally {
      await consumer.close();
      await clocked.close();
    }
  });

  it('starts using a broker that took the topic on later, at its next route refresh', async () => {
    const createOn = async (broker: 'broker-a' | 'broker-b') => {
      const client = createClient(admin.AdminService, cluster.endpoints[broker]);
      try {
        await client.createTopic({ name: 'SdkGrowing', queueCount: 2 }, { deadlineMs: 5_000 });
      } finally {
        client.close();
      }
    };
    await createOn('broker-a');
    const growing = Producer.start({ endpoints: cluster.endpoints['broker-a'], routeRefreshMs: 200 });
    try {
      const first = await Promise.all(Array.from({ length: 10 }, (_, i) => growing.send({ topic: 'SdkGrowing', body: `first-${i}` })));
      expect(new Set(first.map((receipt) => receipt.brokerName))).toEqual(new Set(['broker-a']));
      await createOn('broker-b');
      await eventually(async () => {
        const receipts = await Promise.all(Array.from({ length: 10 }, (_, i) => growing.send({ topic: 'SdkGrowing', body: `later-${i}` })));
        expect(receipts.some((receipt) => receipt.brokerName === 'broker-b')).toBe(true);
      }, { timeoutMs: 15_000, intervalMs: 100 });
    } finally {
      await growing.close();
    }
  }, 30_000);

  it('keeps sending when a broker dies, and uses it again once it is back', async () => {
    const failoverProducer = Producer.start({ endpoints: cluster.endpoints['broker-a'] });
    try {
      const before = await Promise.all(Array.from({ length: 20 }, (_, i) => failoverProducer.send({ topic: 'SdkFailover', body: `before-${i}` })));
      expect(new Set(before.map((receipt) => receipt.brokerName))).toEqual(new Set(['broker-a', 'broker-b']));
      await cluster.brokers['broker-b'].kill('SIGKILL');
      const during: SendReceipt[] = [];
      for (let round = 0; round < 10; round++) during.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => failoverProducer.send({ topic: 'SdkFailover', body: `during-${round}-${i}` })))));
      expect(during).toHaveLength(100);
      expect(during.every((receipt) => receipt.brokerName === 'broker-a')).toBe(true);

      await cluster.restart('broker-b');
      await eventually(async () => {
        const receipts = await Promise.all(Array.from({ length: 10 }, (_, i) => failoverProducer.send({ topic: 'SdkFailover', body: `after-${i}` })));
        expect(receipts.some((receipt) => receipt.brokerName === 'broker-b')).toBe(true);
      }, { timeoutMs: 45_000, intervalMs: 250 });
    } finally {
      await failoverProducer.close();
    }
  }, 90_000);
});
