// Bad input gets a clear status and the broker keeps serving.
import { connect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { durationFromMs, v2 } from '@rmq/contracts';
import { encodeRecallHandle } from '@rmq/messaging';
import { useLocalCluster } from './local-cluster';

const topicOf = (group: string) => `Handle_${group}`;

function message(topic: string, body: Buffer, extra: Partial<{ tag: string; messageType: v2.MessageType; messageGroup: string }> = {}) {
  return {
    topic: { name: topic },
    body,
    systemProperties: {
      messageId: `id-${Math.random().toString(16).slice(2)}`, messageType: extra.messageType ?? v2.MessageType.NORMAL, tag: extra.tag, messageGroup: extra.messageGroup, bodyEncoding: v2.Encoding.IDENTITY,
    },
  };
}

describe('broker answers bad input with a clear status and keeps serving', () => {
  // Short invisible durations keep the expiry tests quick; the 10 s minimum has its own test.
  const local = useLocalCluster({ brokerArgs: ['--invisible-ms-min', '0'], topics: ['GoodTopic', ...['owner', 'expiry', 'duration', 'forgery'].map(topicOf)], client: true });

  async function expectServing(): Promise<void> {
    const reply = await local.client.sendMessage({ messages: [message('GoodTopic', Buffer.from('still here'))] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
  }

  it.each([
    ['a topic that does not exist', message('Missing', Buffer.from('x')), v2.Code.TOPIC_NOT_FOUND, /topic Missing does not exist/],
    ['an empty topic name', message('', Buffer.from('x')), v2.Code.ILLEGAL_TOPIC, /the name is empty/],
    ['a topic name with spaces', message('bad topic', Buffer.from('x')), v2.Code.ILLEGAL_TOPIC, /only letters, digits/],
    ['a body over 4 MiB', message('GoodTopic', Buffer.alloc(4 * 1024 * 1024 + 1, 1)), v2.Code.MESSAGE_BODY_TOO_LARGE, /message body is 4194305 bytes; the limit is/],
    ['an empty body', message('GoodTopic', Buffer.alloc(0)), v2.Code.MESSAGE_BODY_EMPTY, /message body is empty/],
    ['a FIFO message to a normal topic', message('GoodTopic', Buffer.from('x'), { messageType: v2.MessageType.FIFO }), v2.Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, /accepts NORMAL messages \(without a message group, delivery time or transaction\), but this message is FIFO/],
    ['a tag with a space', message('GoodTopic', Buffer.from('x'), { tag: 'a b' }), v2.Code.ILLEGAL_MESSAGE_TAG, /tag "a b" is not valid/],
    // As RocketMQ's proxy refuses message groups: 64 bytes and more, blank, control characters.
    ['a message group of 100 bytes', message('GoodTopic', Buffer.from('x'), { messageGroup: 'g'.repeat(100) }), v2.Code.ILLEGAL_MESSAGE_GROUP, /message group "g{80}\.\.\." is not valid: it takes 100 bytes in UTF-8; the limit is 63/],
    ['a message group with a line break', message('GoodTopic', Buffer.from('x'), { messageGroup: 'a\nb' }), v2.Code.ILLEGAL_MESSAGE_GROUP, /message group "a\\nb" is not valid: it contains a control character/],
    ['a blank message group', message('GoodTopic', Buffer.from('x'), { messageGroup: '  ' }), v2.Code.ILLEGAL_MESSAGE_GROUP, /it is empty or only spaces/],
    ['a message group with a C1 control character', message('GoodTopic', Buffer.from('x'), { messageGroup: 'a\u0085b' }), v2.Code.ILLEGAL_MESSAGE_GROUP, /it contains a control character/],
    ['a dead-letter topic as its topic', message('%DLQ%owner', Buffer.from('x')), v2.Code.BAD_REQUEST, /%DLQ%owner is a dead-letter topic: only the broker writes to it/],
  ])('refuses a send with %s', async (_what, bad, code, text) => {
    const reply = await local.client.sendMessage({ messages: [bad] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(code);
    expect(reply.status?.message).toMatch(text);
    await expectServing();
  });

  it('takes an empty message group field on a normal message as no group', async () => {
    const reply = await local.client.sendMessage({ messages: [message('GoodTopic', Buffer.from('x'), { messageGroup: '' })] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
  });

  it('refuses a receive with an illegal group, filter or invisible duration', async () => {
    const receive = async (request: Parameters<typeof local.client.receiveMessage>[0]) => {
      const frames: v2.ReceiveMessageResponse[] = [];
      for await (const frame of local.client.receiveMessage(request, { deadlineMs: 5_000 })) frames.push(frame as v2.ReceiveMessageResponse);
      return frames.map((frame) => (frame.content.case === 'status' ? frame.content.value : undefined)).find(Boolean);
    };
    const queue = { topic: { name: 'GoodTopic' } };
    expect((await receive({ group: { name: '' }, messageQueue: queue, batchSize: 1 }))?.code).toBe(v2.Code.ILLEGAL_CONSUMER_GROUP);
    expect((await receive({ group: { name: 'g' }, messageQueue: queue, batchSize: 1, filterExpression: { type: v2.FilterType.TAG, expression: 'A || *' } }))?.code).toBe(v2.Code.ILLEGAL_FILTER_EXPRESSION);
    expect((await receive({ group: { name: 'g' }, messageQueue: queue, batchSize: 1, invisibleDuration: { seconds: -5n } }))?.code).toBe(v2.Code.ILLEGAL_INVISIBLE_TIME);
    expect((await receive({ group: { name: 'g' }, messageQueue: { topic: { name: 'Missing' } }, batchSize: 1 }))?.code).toBe(v2.Code.TOPIC_NOT_FOUND);
  });

  /** Status of a receive, and the messages it got. */
  async function receive(request: Parameters<typeof local.client.receiveMessage>[0]): Promise<{ status?: v2.Status; messages: v2.Message[] }> {
    const frames: v2.ReceiveMessageResponse[] = [];
    for await (const frame of local.client.receiveMessage(request, { deadlineMs: 10_000 })) frames.push(frame as v2.ReceiveMessageResponse);
    return {
      status: frames.map((frame) => (frame.content.case === 'status' ? frame.content.value : undefined)).find(Boolean),
      messages: frames.flatMap((frame) => (frame.content.case === 'message' ? [frame.content.value] : [])),
    };
  }

  /** Sends one message to the group's own topic and receives it for `group`. */
  async function inFlight(group: string, invisibleMs = 30_000): Promise<v2.Message> {
    const sent = await local.client.sendMessage({ messages: [message(topicOf(group), Buffer.from(`for ${group}`))] }, { deadlineMs: 5_000 });
    expect(sent.status?.code).toBe(v2.Code.OK);
    const { messages } = await receive({ group: { name: group }, messageQueue: { topic: { name: topicOf(group) } }, batchSize: 1, invisibleDuration: durationFromMs(invisibleMs), longPollingTimeout: durationFromMs(2_000) });
    expect(messages).toHaveLength(1);
    return messages[0];
  }
  /** A receipt handle's tag covers the group and topic the call names: another pair does not match it. */
  const NOT_SIGNED_FOR = 'receipt handle is not valid: its signature does not match: it was forged or altered, comes from another broker, or was issued for another consumer group or topic than';
  /** Acks `handle` as `group`, on the topic of the handle's owner group. */
  const ackOf = (group: string, handle: string, owner = group) =>
    local.client.ackMessage({ group: { name: group }, topic: { name: topicOf(owner) }, entries: [{ messageId: 'm', receiptHandle: handle }] }, { deadlineMs: 5_000 });

  it('refuses a malformed SQL filter with the reason and position, and the refused receive takes nothing', async () => {
    await local.client.sendMessage({ messages: [message('GoodTopic', Buffer.from('for sql'))] }, { deadlineMs: 5_000 });
    const bad = await receive({ group: { name: 'sql-bad' }, messageQueue: { topic: { name: 'GoodTopic' } }, batchSize: 32, filterExpression: { type: v2.FilterType.SQL, expression: 'price > > 5' } });
    expect(bad.status?.code).toBe(v2.Code.ILLEGAL_FILTER_EXPRESSION);
    expect(bad.status?.message).toBe('filter expression "price > > 5" is not valid: expected a property name, a number, a \'string\', TRUE or FALSE at position 9, found ">"');
    expect(bad.messages).toEqual([]);
    // The group starts from the first message as if the bad receive never happened.
    const good = await receive({ group: { name: 'sql-bad' }, messageQueue: { topic: { name: 'GoodTopic' } }, batchSize: 32, filterExpression: { type: v2.FilterType.SQL, expression: 'TRUE' }, longPollingTimeout: durationFromMs(1_000) });
    expect(good.messages.map((m) => m.body.toString())).toContain('for sql');
  });

  it('refuses an illegal consumer group on every consumer method', async () => {
    const group = { name: 'bad group!' };
    const topic = { name: 'GoodTopic' };
    const replies = [
      await local.client.ackMessage({ group, topic, entries: [{ messageId: 'm', receiptHandle: 'h' }] }),
      await local.client.changeInvisibleDuration({ group, topic, receiptHandle: 'h', invisibleDuration: { seconds: 1n } }),
      await local.client.forwardMessageToDeadLetterQueue({ group, topic, receiptHandle: 'h', messageId: 'm' }),
      await local.client.queryAssignment({ group, topic }),
    ];
    for (const reply of replies) {
      expect(reply.status?.code).toBe(v2.Code.ILLEGAL_CONSUMER_GROUP);
      expect(reply.status?.message).toMatch(/consumer group name "bad group!" is not valid/);
    }
  });

  it("refuses another group's receipt handle, a stale (redelivered) one and an already acked one, and the real delivery is unaffected", async () => {
    const delivered = await inFlight('owner');
    const handle = delivered.systemProperties!.receiptHandle!;
    // Another group, even one the broker never saw: the handle is not theirs.
    for (const group of ['intruder', 'never-seen-group']) {
      const reply = await ackOf(group, handle, 'owner');
      expect(reply.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
      expect(reply.status?.message).toBe(`${NOT_SIGNED_FOR} ${group} / ${topicOf('owner')}`);
      const change = await local.client.changeInvisibleDuration({ group: { name: group }, topic: { name: topicOf('owner') }, receiptHandle: handle, invisibleDuration: { seconds: 0n } });
      expect(change.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
      const forward = await local.client.forwardMessageToDeadLetterQueue({ group: { name: group }, topic: { name: topicOf('owner') }, receiptHandle: handle, messageId: 'm' });
      expect(forward.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    }
    // Another topic.
    const otherTopic = await local.client.ackMessage({ group: { name: 'owner' }, topic: { name: 'GoodTopic' }, entries: [{ messageId: 'm', receiptHandle: handle }] });
    expect(otherTopic.status?.message).toBe(`${NOT_SIGNED_FOR} owner / GoodTopic`);
    // Nothing changed: the owner's message is still in flight (not visible) and its handle acks.
    expect((await receive({ group: { name: 'owner' }, messageQueue: { topic: { name: topicOf('owner') } }, batchSize: 1, longPollingTimeout: durationFromMs(500) })).messages).toEqual([]);
    expect((await ackOf('owner', handle)).status?.code).toBe(v2.Code.OK);
    // Acked: the same handle is refused now, for ack, change and forward alike.
    const again = await ackOf('owner', handle);
    expect(again.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    expect(again.status?.message).toMatch(/acknowledged or delivered again since this handle was issued/);
    expect((await local.client.forwardMessageToDeadLetterQueue({ group: { name: 'owner' }, topic: { name: topicOf('owner') }, receiptHandle: handle, messageId: 'm' })).status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
  });

  it('refuses the handle of an expired delivery once the message was delivered again; the new delivery keeps its own', async () => {
    const first = await inFlight('expiry', 1_000);
    const { messages } = await receive({ group: { name: 'expiry' }, messageQueue: { topic: { name: topicOf('expiry') } }, batchSize: 1, invisibleDuration: durationFromMs(30_000), longPollingTimeout: durationFromMs(5_000) });
    expect(messages).toHaveLength(1);
    const second = messages[0];
    expect(second.systemProperties?.messageId).toBe(first.systemProperties?.messageId);
    expect(second.systemProperties?.deliveryAttempt).toBe(2);
    const stale = first.systemProperties!.receiptHandle!;
    for (const reply of [
      await ackOf('expiry', stale),
      await local.client.changeInvisibleDuration({ group: { name: 'expiry' }, topic: { name: topicOf('expiry') }, receiptHandle: stale, invisibleDuration: { seconds: 0n } }),
      await local.client.forwardMessageToDeadLetterQueue({ group: { name: 'expiry' }, topic: { name: topicOf('expiry') }, receiptHandle: stale, messageId: 'm' }),
    ]) {
      expect(reply.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    }
    expect((await ackOf('expiry', second.systemProperties!.receiptHandle!)).status?.code).toBe(v2.Code.OK);
  });

  it('refuses an invisible duration out of range on ChangeInvisibleDuration and keeps the handle valid', async () => {
    const delivered = await inFlight('duration');
    const handle = delivered.systemProperties!.receiptHandle!;
    for (const invisibleDuration of [{ seconds: 13n * 3600n }, { seconds: -1n }]) {
      const reply = await local.client.changeInvisibleDuration({ group: { name: 'duration' }, topic: { name: topicOf('duration') }, receiptHandle: handle, invisibleDuration });
      expect(reply.status?.code).toBe(v2.Code.ILLEGAL_INVISIBLE_TIME);
      expect(reply.status?.message).toMatch(/^invisible duration -?\d+ ms is out of range \[0, 43200000\] ms$/);
    }
    const missing = await local.client.changeInvisibleDuration({ group: { name: 'duration' }, topic: { name: topicOf('duration') }, receiptHandle: handle });
    expect(missing.status?.code).toBe(v2.Code.BAD_REQUEST);
    expect((await ackOf('duration', handle)).status?.code).toBe(v2.Code.OK);
  });

  it('refuses forged and foreign receipt handles without changing anything', async () => {
    const forged = await local.client.ackMessage({ group: { name: 'g' }, topic: { name: 'GoodTopic' }, entries: [{ messageId: 'm', receiptHandle: 'not-a-handle' }] });
    expect(forged.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    expect(forged.status?.message).toMatch(/receipt handle is not valid/);
    const change = await local.client.changeInvisibleDuration({ group: { name: 'g' }, topic: { name: 'GoodTopic' }, receiptHandle: 'eyJ4Ijo.1', invisibleDuration: { seconds: 1n } });
    expect(change.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    const forward = await local.client.forwardMessageToDeadLetterQueue({ group: { name: 'g' }, topic: { name: 'GoodTopic' }, receiptHandle: 'eyJ4Ijo.1', messageId: 'm' });
    expect(forward.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE);
    expect(forward.status?.message).toMatch(/signature does not match/);
    // A real handle with one character changed.
    const delivered = await inFlight('forgery');
    const handle = delivered.systemProperties!.receiptHandle!;
    const altered = handle.slice(0, 5) + (handle[5] === 'A' ? 'B' : 'A') + handle.slice(6);
    expect((await ackOf('forgery', altered)).status?.message).toBe(`${NOT_SIGNED_FOR} forgery / ${topicOf('forgery')}`);
    expect((await ackOf('forgery', handle)).status?.code).toBe(v2.Code.OK);
  });

  it('answers a method we do not implement with UNSUPPORTED and a reason', async () => {
    const reply = await local.client.syncLiteSubscription({});
    expect(reply.status?.code).toBe(v2.Code.UNSUPPORTED);
    expect(reply.status?.message).toBe('lite topics: not supported by this broker yet');
  });

  it('refuses a made-up transaction id and a made-up recall handle, saying which handle to use', async () => {
    const end = await local.client.endTransaction({ topic: { name: 'GoodTopic' }, messageId: 'm', transactionId: 't', resolution: v2.TransactionResolution.COMMIT });
    expect(end.status?.code).toBe(v2.Code.INVALID_TRANSACTION_ID);
    expect(end.status?.message).toBe('transaction id is not valid: it is not an id this broker issued (use the transaction id returned when the half message was sent)');
    const recall = await local.client.recallMessage({ topic: { name: 'GoodTopic' }, recallHandle: 'h' });
    expect(recall.status?.code).toBe(v2.Code.BAD_REQUEST);
    expect(recall.status?.message).toBe('recall handle is not valid: it is not a handle this cluster issued (use the recall handle returned when the delay message was sent)');
    // A handle of another broker group names a schedule in that group's log, not this one's.
    const elsewhere = await local.client.recallMessage({ topic: { name: 'GoodTopic' }, recallHandle: encodeRecallHandle({ topic: 'GoodTopic', messageId: 'm', scheduleQueueOffset: 0, brokerName: 'broker-z' }) });
    expect([elsewhere.status?.code, elsewhere.status?.message]).toEqual([v2.Code.BAD_REQUEST, 'recall handle is not valid: it was issued by broker group broker-z, not by this one (broker-a): recall through a name server, or at the master of broker-z']);
    // The broker's own topics (delay schedules here) are never user topics.
    const system = await local.client.sendMessage({ messages: [message('%SYS%TIMER', Buffer.from('x'))] });
    expect(system.status?.code).toBe(v2.Code.TOPIC_NOT_FOUND);
  });

  it('survives garbage bytes on the gRPC port and garbage inside a gRPC call', async () => {
    const closed = await new Promise<boolean>((resolve, reject) => {
      const socket = connect({ host: local.cluster.endpoint.split(':')[0], port: Number(local.cluster.endpoint.split(':')[1]) }, () => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage\xff\xfe'));
      });
      socket.on('data', () => undefined);
      socket.on('close', () => resolve(true));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => reject(new Error('the broker kept a garbage connection open')));
    });
    expect(closed).toBe(true);

    const raw = new grpc.Client(local.cluster.endpoint, grpc.credentials.createInsecure());
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      raw.makeUnaryRequest('/apache.rocketmq.v2.MessagingService/SendMessage', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x12]), (e) => resolve(e!)),
    );
    raw.close();
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toMatch(/pars|deserializ/i);
    await expectServing();
  });
});
