// The broker's budget of request bytes in flight (--requests-in-flight-max-mib): a request that
// would take it past the bound is refused at once with TOO_MANY_REQUESTS naming the budget, the
// bytes come back when a call ends (here: cancelled), and the official producer's retry of a
// refused send lands, once. A raw HTTP/2 request that announces 8 MiB and sends 1 KiB holds the
// budget: its size is taken from its gRPC frame header, before its body arrives.
import * as http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { durationFromMs, v2 } from '@rmq/contracts';
import { eventually, quietClientLogger, sampleValue, scrapeMetrics } from '@rmq/testing';
import { Producer } from 'rocketmq-client-nodejs';
import { useLocalCluster } from './local-cluster';

const BUDGET_MIB = 8;
const HELD_BYTES = BUDGET_MIB * 1024 * 1024;

/** An unfinished SendMessage that announces `declaredBytes` and sends only its first KiB. */
function holdRequest(endpoint: string, declaredBytes: number): { release(): void } {
  const session = http2.connect(`http://${endpoint}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/apache.rocketmq.v2.MessagingService/SendMessage', 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  const header = Buffer.alloc(5);
  header.writeUInt32BE(declaredBytes, 1);
  stream.write(Buffer.concat([header, Buffer.alloc(1024)]));
  return {
    release: () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.close();
    },
  };
}

function wireMessage(topic: string, body: string) {
  return { topic: { name: topic }, body: Buffer.from(body), systemProperties: { messageId: `01${randomBytes(16).toString('hex').toUpperCase()}`, messageType: v2.MessageType.NORMAL, bodyEncoding: v2.Encoding.IDENTITY } };
}

describe('budget of request bytes in flight', () => {
  const local = useLocalCluster({ brokerArgs: ['--requests-in-flight-max-mib', String(BUDGET_MIB)], topics: ['Budget'], topicOptions: { queueCount: 1 }, client: true });
  const metric = async (name: string) => sampleValue(await scrapeMetrics(local.cluster.broker), name) ?? NaN;

  it('refuses a request past the budget at once with TOO_MANY_REQUESTS, and takes requests again once the bytes are given back', async () => {
    const hold = holdRequest(local.cluster.endpoint, HELD_BYTES);
    await eventually(async () => expect(await metric('rmq_request_bytes_in_flight')).toBeGreaterThanOrEqual(HELD_BYTES));
    const refused = await local.client.sendMessage({ messages: [wireMessage('Budget', 'refused')] }, { deadlineMs: 5_000 });
    expect(refused.status?.code).toBe(v2.Code.TOO_MANY_REQUESTS);
    expect(refused.status?.message).toMatch(/request bytes in flight is 8 MiB \(--requests-in-flight-max-mib\): retry shortly/);
    expect(await metric('rmq_request_budget_refusals_total')).toBeGreaterThanOrEqual(1);

    hold.release();
    await eventually(async () => expect(await metric('rmq_request_bytes_in_flight')).toBe(0));
    const accepted = await local.client.sendMessage({ messages: [wireMessage('Budget', 'accepted')] }, { deadlineMs: 5_000 });
    expect(accepted.status?.code).toBe(v2.Code.OK);
  });

  it('lets the official producer retry a refused send until it lands, once', async () => {
    // The Node client retries TOO_MANY_REQUESTS after the announced backoff, which it reads in
    // whole seconds (10 ms -> 0): so many attempts that the hold is released while it retries.
    const producer = new Producer({ endpoints: local.cluster.endpoint, namespace: '', logger: quietClientLogger, maxAttempts: 1_000_000 });
    await producer.startup();
    try {
      const hold = holdRequest(local.cluster.endpoint, HELD_BYTES);
      await eventually(async () => expect(await metric('rmq_request_bytes_in_flight')).toBeGreaterThanOrEqual(HELD_BYTES));
      const refusalsBefore = await metric('rmq_request_budget_refusals_total');
      const sent = producer.send({ topic: 'Budget', body: Buffer.from('retried') });
      await eventually(async () => expect(await metric('rmq_request_budget_refusals_total')).toBeGreaterThan(refusalsBefore), { intervalMs: 10 });
      hold.release();
      const receipt = await sent;

      const stream = local.client.receiveMessage(
        { group: { name: 'budget-readers' }, messageQueue: { topic: { name: 'Budget' } }, batchSize: 32, invisibleDuration: durationFromMs(30_000), longPollingTimeout: durationFromMs(1_000) },
        { deadlineMs: 10_000 },
      );
      const bodies: string[] = [];
      const ids: string[] = [];
      for await (const reply of stream as AsyncIterable<v2.ReceiveMessageResponse>) {
        if (reply.content.case !== 'message') continue;
        bodies.push(Buffer.from(reply.content.value.body).toString());
        ids.push(reply.content.value.systemProperties!.messageId);
      }
      expect(bodies.filter((body) => body === 'retried')).toEqual(['retried']);
      expect(ids).toContain(receipt.messageId);
      expect(bodies).not.toContain('refused');
    } finally {
      await producer.shutdown().catch(() => undefined);
    }
  });
});
