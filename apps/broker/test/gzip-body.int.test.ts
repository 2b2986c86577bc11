// GZIP-encoded bodies: the broker stores the compressed bytes as sent and delivers them with
// their encoding; the official SimpleConsumer checks the digest and gunzips; property filters
// still apply. The official Node producer never compresses, so the send is a raw v2 call.
import { gzipSync } from 'node:zlib';
import { FilterExpression, SimpleConsumer } from 'rocketmq-client-nodejs';
import { v2 } from '@rmq/contracts';
import { eventually, quietClientLogger } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

const SQL = 2;

describe('GZIP message bodies', () => {
  const local = useLocalCluster({ topics: ['GzipTopic'], client: true });

  const send = (body: Uint8Array, bodyEncoding: v2.Encoding, properties: Record<string, string>) =>
    local.client.sendMessage({
      messages: [{
        topic: { name: 'GzipTopic' }, body, userProperties: properties,
        systemProperties: { messageId: `gz-${Math.random().toString(16).slice(2)}`, messageType: v2.MessageType.NORMAL, bodyEncoding },
      }],
    }, { deadlineMs: 5_000 });

  it('delivers a gzip body with its encoding to the official client, which gunzips it; a SQL filter picks by property', async () => {
    const text = 'compressible '.repeat(50);
    for (const [i, region] of ['eu', 'us', 'eu'].entries()) {
      const reply = await send(gzipSync(Buffer.from(`${i}:${text}`)), v2.Encoding.GZIP, { region, i: String(i) });
      expect(reply.status?.code).toBe(v2.Code.OK);
    }
    const consumer = new SimpleConsumer({
      endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'gzip-group', awaitDuration: 1_000, logger: quietClientLogger,
      subscriptions: new Map([['GzipTopic', new FilterExpression("region = 'eu'", SQL)]]),
    });
    await consumer.startup();
    try {
      const bodies: string[] = [];
      await eventually(async () => {
        for (const message of await consumer.receive(16, 30_000)) {
          expect(message.corrupted).not.toBe(true);
          bodies.push(message.body.toString());
          await consumer.ack(message);
        }
        expect(bodies.sort()).toEqual([`0:${text}`, `2:${text}`]);
      }, { timeoutMs: 15_000 });
    } finally {
      await consumer.shutdown();
    }
    // Stored as sent: a raw receive sees the compressed bytes and GZIP.
    const raw: v2.Message[] = [];
    for await (const reply of local.client.receiveMessage({ group: { name: 'gzip-raw' }, messageQueue: { topic: { name: 'GzipTopic' } }, batchSize: 8, invisibleDuration: { seconds: 30n } }, { deadlineMs: 10_000 })) {
      if (reply.content.case === 'message') raw.push(reply.content.value);
    }
    expect(raw).toHaveLength(3);
    for (const message of raw) {
      expect(message.systemProperties?.bodyEncoding).toBe(v2.Encoding.GZIP);
      expect(message.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    }
  }, 40_000);

  it('refuses a body marked GZIP that is not gzip data, and an unknown encoding', async () => {
    const notGzip = await send(Buffer.from('plain text, not gzip'), v2.Encoding.GZIP, {});
    expect(notGzip.status?.code).toBe(v2.Code.BAD_REQUEST);
    expect(notGzip.status?.message).toBe('the body is marked GZIP but is not gzip data (it does not start with the bytes 1f 8b)');
    const unknown = await send(Buffer.from('x'), 7 as v2.Encoding, {});
    expect(unknown.status?.code).toBe(v2.Code.BAD_REQUEST);
    expect(unknown.status?.message).toMatch(/body encoding 7 is unknown/);
  });
});
