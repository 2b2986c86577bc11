// Pull consumers over the v2 protocol (the official Node client has none, so the calls are raw):
// PullMessage by queue and offset with filters and long polling, UpdateOffset / GetOffset of a
// group's committed offset (kept across a SIGKILL), QueryOffset by beginning, end and time.
import { durationFromMs, timestampFromMs, v2 } from '@rmq/contracts';
import { delay } from '@rmq/base';
import { eventually } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

describe('pull consumers', () => {
  const local = useLocalCluster({ topics: ['PullTopic'], topicOptions: { queueCount: 1 }, client: true });
  const queue = (id: number, topic = 'PullTopic') => ({ topic: { name: topic }, id });

  async function send(body: string, tag: string): Promise<void> {
    const reply = await local.client.sendMessage({ messages: [{ topic: { name: 'PullTopic' }, body: Buffer.from(body), systemProperties: { messageId: `pull-${body}`, tag, messageType: v2.MessageType.NORMAL } }] }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
  }

  async function pull(offset: number, options: { tag?: string; longPollingMs?: number; batchSize?: number } = {}) {
    const messages: v2.Message[] = [];
    let nextOffset: number | undefined;
    let status: v2.Status | undefined;
    const request = {
      group: { name: 'puller' }, messageQueue: queue(0), offset: BigInt(offset), batchSize: options.batchSize ?? 32,
      filterExpression: { type: v2.FilterType.TAG, expression: options.tag ?? '*' }, longPollingTimeout: durationFromMs(options.longPollingMs ?? 0),
    };
    for await (const reply of local.client.pullMessage(request, { deadlineMs: 20_000 })) {
      if (reply.content.case === 'message') messages.push(reply.content.value);
      if (reply.content.case === 'nextOffset') nextOffset = Number(reply.content.value);
      if (reply.content.case === 'status') status = reply.content.value;
    }
    return { messages, nextOffset, status, bodies: messages.map((m) => m.body.toString()) };
  }

  it('pulls by offset with a tag filter, answers the next offset, and waits for new messages when there are none', async () => {
    for (let i = 0; i < 6; i++) await send(`m${i}`, i % 2 === 0 ? 'even' : 'odd');
    const all = await pull(0);
    expect(all).toMatchObject({ bodies: ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], nextOffset: 6, status: { code: v2.Code.OK } });
    expect(all.messages[2].systemProperties?.queueOffset).toBe(2n);
    const odd = await pull(2, { tag: 'odd' });
    expect(odd).toMatchObject({ bodies: ['m3', 'm5'], nextOffset: 6 });
    expect(await pull(1, { batchSize: 2 })).toMatchObject({ bodies: ['m1', 'm2'], nextOffset: 3 });
    // At the end: a long poll returns as soon as a message arrives.
    const waiting = pull(6, { longPollingMs: 10_000 });
    await delay(300);
    await send('m6', 'even');
    expect(await waiting).toMatchObject({ bodies: ['m6'], nextOffset: 7 });
    expect(await pull(7)).toMatchObject({ bodies: [], nextOffset: 7, status: { code: v2.Code.MESSAGE_NOT_FOUND } });
    const beyond = await pull(100);
    expect(beyond.status?.code).toBe(v2.Code.ILLEGAL_OFFSET);
    expect(beyond.status?.message).toBe('offset 100 of PullTopic queue 0 is out of range: the queue ends at 7');
  });

  it('reads back the committed offset, also after a SIGKILL; refuses an offset outside the queue', async () => {
    const before = await local.client.getOffset({ group: { name: 'committer' }, messageQueue: queue(0) });
    expect(before.status?.code).toBe(v2.Code.OFFSET_NOT_FOUND);
    expect((await local.client.updateOffset({ group: { name: 'committer' }, messageQueue: queue(0), offset: 3n })).status?.code).toBe(v2.Code.OK);
    expect((await local.client.getOffset({ group: { name: 'committer' }, messageQueue: queue(0) })).offset).toBe(3n);
    const bad = await local.client.updateOffset({ group: { name: 'committer' }, messageQueue: queue(0), offset: 1000n });
    expect(bad.status?.code).toBe(v2.Code.ILLEGAL_OFFSET);
    const noQueue = await local.client.updateOffset({ group: { name: 'committer' }, messageQueue: queue(5), offset: 0n });
    expect(noQueue.status?.message).toBe('topic PullTopic has queues 0 to 0; there is no queue 5');
    await local.cluster.restartBroker('SIGKILL');
    // The client's channel backs off while the broker is down: ask until it reconnected.
    await eventually(async () => expect((await local.client.getOffset({ group: { name: 'committer' }, messageQueue: queue(0) }, { deadlineMs: 1_000 })).offset).toBe(3n), { timeoutMs: 10_000 });
  }, 40_000);

  it('QueryOffset gives the beginning, the end, and the first message stored at or after a time', async () => {
    const end = Number((await local.client.queryOffset({ messageQueue: queue(0), queryOffsetPolicy: v2.QueryOffsetPolicy.END })).offset);
    expect(end).toBeGreaterThan(0);
    expect((await local.client.queryOffset({ messageQueue: queue(0), queryOffsetPolicy: v2.QueryOffsetPolicy.BEGINNING })).offset).toBe(0n);
    await delay(20); // store timestamps are in ms: the next message is stored strictly later
    const splitMs = Date.now();
    await delay(20);
    await send('after-split', 'even');
    await send('after-split-2', 'odd');
    const found = Number((await local.client.queryOffset({ messageQueue: queue(0), queryOffsetPolicy: v2.QueryOffsetPolicy.TIMESTAMP, timestamp: timestampFromMs(splitMs) })).offset);
    expect(found).toBe(end);
    expect((await pull(found)).bodies[0]).toBe('after-split');
    const future = await local.client.queryOffset({ messageQueue: queue(0), queryOffsetPolicy: v2.QueryOffsetPolicy.TIMESTAMP, timestamp: timestampFromMs(Date.now() + 60_000) });
    expect(future.offset).toBe(BigInt(end + 2));
    const past = await local.client.queryOffset({ messageQueue: queue(0), queryOffsetPolicy: v2.QueryOffsetPolicy.TIMESTAMP, timestamp: timestampFromMs(0) });
    expect(past.offset).toBe(0n);
  });
});
