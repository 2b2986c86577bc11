// Bad input gets a clear status and the broker keeps serving.
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createClient, v2 } from '@rmq/contracts';
import { killAllApps } from '@rmq/testing';
import { startLocalCluster, type LocalCluster } from './local-cluster';

function message(topic: string, body: Buffer, extra: Partial<{ tag: string; messageType: v2.MessageType }> = {}) {
  return {
    topic: { name: topic },
    body,
    systemProperties: { messageId: `id-${Math.random().toString(16).slice(2)}`, messageType: extra.messageType ?? v2.MessageType.NORMAL, tag: extra.tag, bodyEncoding: v2.Encoding.IDENTITY },
  };
}

describe('broker answers bad input with a clear status and keeps serving', () => {
  let cluster: LocalCluster;
  let client: ReturnType<typeof createClient<typeof v2.MessagingService.method>>;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    await cluster.createTopic('GoodTopic');
    client = createClient(v2.MessagingService, cluster.endpoint);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await cluster?.stop();
    await killAllApps();
  });

  async function expectServing(): Promise<void> {
    const reply = await client.sendMessage({ messages: [message('GoodTopic', Buffer.from('still here'))] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
  }

  it.each([
    ['a topic that does not exist', message('Missing', Buffer.from('x')), v2.Code.TOPIC_NOT_FOUND, /topic Missing does not exist/],
    ['an empty topic name', message('', Buffer.from('x')), v2.Code.ILLEGAL_TOPIC, /the name is empty/],
    ['a topic name with spaces', message('bad topic', Buffer.from('x')), v2.Code.ILLEGAL_TOPIC, /only letters, digits/],
    ['a body over 4 MiB', message('GoodTopic', Buffer.alloc(4 * 1024 * 1024 + 1, 1)), v2.Code.MESSAGE_BODY_TOO_LARGE, /message body is 4194305 bytes; the limit is/],
    ['an empty body', message('GoodTopic', Buffer.alloc(0)), v2.Code.MESSAGE_BODY_EMPTY, /message body is empty/],
    ['a FIFO message to a normal topic', message('GoodTopic', Buffer.from('x'), { messageType: v2.MessageType.FIFO }), v2.Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, /accepts NORMAL messages, but this message is FIFO/],
    ['a tag with a space', message('GoodTopic', Buffer.from('x'), { tag: 'a b' }), v2.Code.ILLEGAL_MESSAGE_TAG, /tag "a b" is not valid/],
  ])('refuses a send with %s', async (_what, bad, code, text) => {
    const reply = await client.sendMessage({ messages: [bad] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(code);
    expect(reply.status?.message).toMatch(text);
    await expectServing();
  });

  it('refuses a receive with an illegal group, filter or invisible duration', async () => {
    const receive = async (request: Parameters<typeof client.receiveMessage>[0]) => {
      const frames: v2.ReceiveMessageResponse[] = [];
      for await (const frame of client.receiveMessage(request, { deadlineMs: 5_000 })) frames.push(frame as v2.ReceiveMessageResponse);
      return frames.map((frame) => (frame.content.case === 'status' ? frame.content.value : undefined)).find(Boolean);
    };
    const queue = { topic: { name: 'GoodTopic' } };
    expect((await receive({ group: { name: '' }, messageQueue: queue, batchSize: 1 }))?.code).toBe(v2.Code.ILLEGAL_CONSUMER_GROUP);
    expect((await receive({ group: { name: 'g' }, messageQueue: queue, batchSize: 1, filterExpression: { type: v2.FilterType.TAG, expression: 'A || *' } }))?.code).toBe(v2.Code.ILLEGAL_FILTER_EXPRESSION);
    expect((await receive({ group: { name: 'g' }, messageQueue: queue, batchSize: 1, invisibleDuration: { seconds: -5n } }))?.code).toBe(v2.Code.ILLEGAL_INVISIBLE_TIME);
    expect((await receive({ group: { name: 'g' }, messageQueue: { topic: { name: 'Missing' } }, batchSize: 1 }))?.code).toBe(v2.Code.TOPIC_NOT_FOUND);
  });

  it('refuses forged and foreign receipt handles without changing anything', async () => {
    const forged = await client.ackMessage({ group: { name: 'g' }, topic: { name: 'GoodTopic' }, entries: [{ messageId: 'm', receiptHandle: 'not-a-handle' }] });
    expect(forged.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    expect(forged.status?.message).toMatch(/receipt handle is not valid/);
    const change = await client.changeInvisibleDuration({ group: { name: 'g' }, topic: { name: 'GoodTopic' }, receiptHandle: 'eyJ4Ijo.1', invisibleDuration: { seconds: 1n } });
    expect(change.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
  });

  it('answers a method we do not implement with UNSUPPORTED and a reason', async () => {
    const reply = await client.endTransaction({ topic: { name: 'GoodTopic' }, messageId: 'm', transactionId: 't' });
    expect(reply.status?.code).toBe(v2.Code.UNSUPPORTED);
    expect(reply.status?.message).toBe('transactional messages: not supported by this broker yet');
  });

  it('survives garbage bytes on the gRPC port and garbage inside a gRPC call', async () => {
    const closed = await new Promise<boolean>((resolve, reject) => {
      const socket = connect({ host: cluster.endpoint.split(':')[0], port: Number(cluster.endpoint.split(':')[1]) }, () => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage\xff\xfe'));
      });
      socket.on('data', () => undefined);
      socket.on('close', () => resolve(true));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => reject(new Error('the broker kept a garbage connection open')));
    });
    expect(closed).toBe(true);

    const raw = new grpc.Client(cluster.endpoint, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest('/apache.rocketmq.v2.MessagingService/SendMessage', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x12]), (e) => resolve(e!)),
    );
    raw.close();
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toMatch(/pars|deserializ/i);
    await expectServing();
  });
});
