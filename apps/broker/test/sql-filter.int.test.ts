// SQL92 property filters with the official SimpleConsumer: the broker evaluates the expression
// on each message's properties and hands out only the matching ones; a malformed expression is
// refused with a status that says what is wrong and where.
import { FilterExpression, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { eventually, quietClientLogger } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

/** FilterType.SQL in apache.rocketmq.v2 (the client takes the wire enum). */
const SQL = 2;

function sqlConsumer(endpoint: string, group: string, topic: string, sql: string): SimpleConsumer {
  return new SimpleConsumer({ endpoints: endpoint, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, new FilterExpression(sql, SQL)]]), awaitDuration: 1_000, logger: quietClientLogger });
}

describe('SQL92 filters with the official SimpleConsumer', () => {
  const local = useLocalCluster({ topics: ['SqlTopic'], producer: true });

  it("hands out exactly the messages whose properties match region IN ('eu', 'us') AND price > 50", async () => {
    const regions = ['eu', 'us', 'asia'];
    const expected = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const properties = new Map([['region', regions[i % 3]], ['seq', String(i)]]);
      // Every fifth message has no price: UNKNOWN, never accepted.
      if (i % 5 !== 0) properties.set('price', String(i * 2));
      const receipt = await local.producer.send({ topic: 'SqlTopic', tag: i % 2 === 0 ? 'even' : 'odd', body: Buffer.from(`m${i}`), properties });
      if (regions[i % 3] !== 'asia' && i % 5 !== 0 && i * 2 > 50) expected.add(receipt.messageId);
    }
    const consumer = sqlConsumer(local.cluster.endpoint, 'sql-group', 'SqlTopic', "region IN ('eu', 'us') AND price > 50");
    await consumer.startup();
    try {
      const received: MessageView[] = [];
      await eventually(async () => {
        for (const message of await consumer.receive(32, 30_000)) {
          received.push(message);
          await consumer.ack(message);
        }
        expect(received).toHaveLength(expected.size);
      }, { timeoutMs: 15_000 });
      expect(new Set(received.map((m) => m.messageId))).toEqual(expected);
      for (const message of received) {
        expect(['eu', 'us']).toContain(message.properties.get('region'));
        expect(Number(message.properties.get('price'))).toBeGreaterThan(50);
      }
      // Nothing else matches.
      expect(await consumer.receive(32, 30_000)).toEqual([]);
    } finally {
      await consumer.shutdown();
    }
    // Another group with another expression, on the tag and a range, reads the same topic independently.
    const tagged = sqlConsumer(local.cluster.endpoint, 'sql-tag-group', 'SqlTopic', "TAGS = 'odd' AND seq BETWEEN 10 AND 19");
    await tagged.startup();
    try {
      const seqs: number[] = [];
      await eventually(async () => {
        for (const message of await tagged.receive(32, 30_000)) {
          seqs.push(Number(message.properties.get('seq')));
          await tagged.ack(message);
        }
        expect(seqs.sort((a, b) => a - b)).toEqual([11, 13, 15, 17, 19]);
      }, { timeoutMs: 15_000 });
    } finally {
      await tagged.shutdown();
    }
  }, 40_000);

  it('refuses a malformed expression with a clear reason and position', async () => {
    const consumer = sqlConsumer(local.cluster.endpoint, 'sql-bad-group', 'SqlTopic', "region = 'eu' AND");
    await consumer.startup();
    try {
      await expect(consumer.receive(1, 30_000)).rejects.toThrow(/filter expression "region = 'eu' AND" is not valid: expected .* at position 18, found the end/);
    } finally {
      await consumer.shutdown();
    }
  }, 30_000);
});
