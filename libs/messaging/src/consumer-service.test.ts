import { randomBytes } from 'node:crypto';
import { eventually, makeTempDir } from '@rmq/testing';
import { MessageStore } from '@rmq/store';
import { ConsumerService } from './consumer-service';
import { openBrokerState, type BrokerState } from './broker-state';
import { ProducerService } from './producer-service';
import { parseTagExpression } from './tag-filter';
import { TopicRegistry } from './topic-registry';
import { SYSTEM_PROPERTY } from './message-properties';

describe('ConsumerService', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  let topics: TopicRegistry;
  let state: BrokerState;
  let consumer: ConsumerService;
  let nowMs = 1_000_000;
  const clock = { nowMs: () => nowMs };

  beforeEach(async () => {
    temp = makeTempDir('consumer');
    store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async' });
    state = await openBrokerState({
      store, dataDir: temp.path, clock, autoCreateGroups: true,
      groupDefaults: (name) => ({ maxAttempts: 3, retry: { kind: 'customized', delaysMs: [1_000, 3_000] }, fifo: true, consumeType: name === 'bc' ? 'broadcast' : 'clustering', consumeEnabled: true }),
    });
    topics = state.topics;
    await topics.create('T', { queueCount: 8 });
    const secret = randomBytes(32);
    consumer = new ConsumerService({ store, topics, groups: state.groups, progress: state.progress, clock, secret: () => secret });
  });

  afterEach(async () => {
    consumer.close();
    await state.journal.close();
    await store.close();
    temp.remove();
  });

  async function send(count: number, tag?: string): Promise<void> {
    const producer = new ProducerService(store, topics);
    await producer.send(Array.from({ length: count }, (_, i) => ({
      topic: 'T', body: Buffer.from(`m${i}`), messageId: `id-${tag ?? ''}${i}`, messageType: 'NORMAL' as const, tag, keys: [], bornTimestampMs: 0, bornHost: 'h', userProperties: new Map(),
    })));
  }

  const receive = (group: string, countMax = 16, invisibleMs = 10_000, expression = '*') =>
    consumer.receive({ group, topic: 'T', filter: parseTagExpression(expression), countMax, invisibleMs, longPollingMs: 0 });
  const idOf = (delivery: { record: { properties: Map<string, string> } }) => delivery.record.properties.get(SYSTEM_PROPERTY.messageId)!;

  it('gives concurrent members of one group disjoint messages whose union is everything', async () => {
    await send(300);
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (;;) {
          const batch = await receive('g', 7);
          if (batch.length === 0) return;
          for (const delivery of batch) {
            seen.push(idOf(delivery));
            await consumer.ack('g', 'T', delivery.receiptHandle);
          }
        }
      }),
    );
    expect(seen).toHaveLength(300);
    expect(new Set(seen).size).toBe(300);
  });

  it('gives every group every message, each with its own progress', async () => {
    await send(20);
    const a = await receive('a', 100);
    const b = await receive('b', 100);
    expect(a.map(idOf).sort()).toEqual(b.map(idOf).sort());
    expect(a).toHaveLength(20);
  });

  it('takes a small batch from as few queues as it needs, and the next receive goes on from the queues after them', async () => {
    await send(160); // 20 in each of the 8 queues
    const first = await receive('g', 32);
    const second = await receive('g', 32);
    const queuesOf = (batch: typeof first) => [...new Set(batch.map((delivery) => delivery.record.queueId))].sort();
    expect(first).toHaveLength(32);
    expect(second).toHaveLength(32);
    expect(queuesOf(first)).toHaveLength(2);
    expect(queuesOf(second)).toHaveLength(2);
    expect(queuesOf(first).filter((queueId) => queuesOf(second).includes(queueId))).toEqual([]);
  });

  it("starts each group's small receives where its own last one stopped, whatever other groups received meanwhile", async () => {
    await send(160); // 20 in each of the 8 queues
    const queuesOf = (batch: Awaited<ReturnType<typeof receive>>) => [...new Set(batch.map((delivery) => delivery.record.queueId))].sort();
    const alone = [await receive('a', 32), await receive('a', 32)].map(queuesOf);
    // Group b's receives between group c's: c's start queues are a's (one queue id list: the same order).
    const interleaved: number[][] = [];
    for (let i = 0; i < 2; i++) {
      interleaved.push(queuesOf(await receive('c', 32)));
      await receive('b', 32);
      await receive('b', 32);
      await receive('b', 32);
    }
    expect(interleaved).toEqual(alone);
  });

  it('gathers from every queue with messages in one receive when the first queues it asks have few', async () => {
    await send(8); // one in each queue
    const batch = await receive('g', 32);
    expect(batch.map(idOf).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `id-${i}`).sort());
  });

  it('filters by tag and counts filtered messages as done', async () => {
    await send(5, 'A');
    await send(5, 'B');
    const only = await receive('g', 100, 10_000, 'B');
    expect(only.map(idOf).sort()).toEqual(['id-B0', 'id-B1', 'id-B2', 'id-B3', 'id-B4']);
  });

  it('redelivers after the invisible time with the next attempt, refuses the stale handle, and dead-letters after the last attempt', async () => {
    await send(1);
    const [first] = await receive('g', 1, 5_000);
    expect(first.deliveryAttempt).toBe(1);
    expect(await receive('g')).toEqual([]);
    nowMs += 5_000;
    const [second] = await receive('g', 1, 5_000);
    expect(second.deliveryAttempt).toBe(2);
    await expect(consumer.ack('g', 'T', first.receiptHandle)).rejects.toThrow(/acknowledged or delivered again/);
    nowMs += 5_000;
    const [third] = await receive('g', 1, 5_000);
    expect(third.deliveryAttempt).toBe(3);
    nowMs += 5_000;
    expect(await receive('g')).toEqual([]);
    const dead = await consumer.receive({ group: 'reader', topic: '%DLQ%g', filter: parseTagExpression('*'), countMax: 10, invisibleMs: 1_000, longPollingMs: 0 });
    expect(dead.map(idOf)).toEqual(['id-0']);
    expect(dead[0].record.properties.get(SYSTEM_PROPERTY.dlqOriginTopic)).toBe('T');
  });

  it('changes nothing when its journal refuses the change (a broker between roles): an ack refused there leaves the message in flight', async () => {
    await send(1);
    const [delivery] = await receive('g', 1, 5_000);
    state.journal.becomeSlave();
    await expect(consumer.ack('g', 'T', delivery.receiptHandle)).rejects.toThrow(/slave/);
    await state.journal.becomeMaster();
    // The log says the message is still in flight, and so must memory: it comes back after its invisible time.
    nowMs += 5_000;
    const [again] = await receive('g', 1, 5_000);
    expect(again && idOf(again)).toBe('id-0');
    expect(again.deliveryAttempt).toBe(2);
  });

  it('refuses handles that are forged, of another group, or of another topic', async () => {
    await send(1);
    const [delivery] = await receive('g');
    // A character inside the tag (the last one may hold only padding bits of base64url).
    const at = delivery.receiptHandle.length - 3;
    const forged = delivery.receiptHandle.slice(0, at) + (delivery.receiptHandle[at] === 'A' ? 'B' : 'A') + delivery.receiptHandle.slice(at + 1);
    await expect(consumer.ack('g', 'T', forged)).rejects.toThrow(/signature does not match/);
    await expect(consumer.ack('other', 'T', delivery.receiptHandle)).rejects.toThrow(/issued for another consumer group or topic than other \/ T/);
    await expect(consumer.ack('g', 'U', delivery.receiptHandle)).rejects.toThrow(/issued for another consumer group or topic than g \/ U/);
    await expect(consumer.changeInvisibleDuration('g', 'T', delivery.receiptHandle, -1)).rejects.toThrow(/out of range/);
    await consumer.ack('g', 'T', delivery.receiptHandle);
  });

  it('acks a batch of handles of many queues each on its own: acked, stale, repeated and forged entries get their own result', async () => {
    await send(40);
    const deliveries = await receive('g', 40);
    expect(new Set(deliveries.map((d) => d.record.queueId)).size).toBeGreaterThan(1);
    const handles = deliveries.map((d) => d.receiptHandle);
    const forged = handles[1].slice(0, 10) + (handles[1][10] === 'A' ? 'B' : 'A') + handles[1].slice(11);
    // Entry 0 acked before, entry 2 forged, entry 4 the same handle as entry 3.
    await consumer.ack('g', 'T', handles[0]);
    const batch = [handles[0], handles[1], forged, handles[3], handles[3], ...handles.slice(4)];
    const errors = await consumer.ackAll('g', 'T', batch);
    expect(errors).toHaveLength(batch.length);
    const reasons = errors!.map((error) => (error === undefined ? 'acked' : (error as Error).message));
    expect(reasons[0]).toMatch(/acknowledged or delivered again/);
    expect(reasons[1]).toBe('acked');
    expect(reasons[2]).toMatch(/signature does not match/);
    expect(reasons[3]).toBe('acked');
    expect(reasons[4]).toMatch(/acknowledged or delivered again/);
    expect(reasons.slice(5).every((reason) => reason === 'acked')).toBe(true);
    // Every message but the one whose handle was forged is done: only it comes back.
    nowMs += 10_000;
    const again = await receive('g', 40);
    expect(again.map(idOf)).toEqual([idOf(deliveries[2])]);
    expect(await consumer.ackAll('g', 'T', [again[0].receiptHandle])).toBeUndefined();
  });

  it('acks a handle presented as minted by comparing it with its delivery\'s, with no tag check; others are checked by their tag', async () => {
    // The secret changes after the receives: a handle checked by its tag is refused then, one compared is not.
    let secret = randomBytes(32);
    const minted = randomBytes(32);
    const keyed = new ConsumerService({ store, topics, groups: state.groups, progress: state.progress, clock, secret: () => secret });
    const receiveKeyed = (countMax: number) => keyed.receive({ group: 'g', topic: 'T', filter: parseTagExpression('*'), countMax, invisibleMs: 5_000, longPollingMs: 0 });
    try {
      await send(4);
      secret = minted;
      const deliveries = await receiveKeyed(3);
      secret = randomBytes(32);
      expect(await keyed.ackAll('g', 'T', deliveries.map((d) => d.receiptHandle))).toBeUndefined();
      // Acked: the entry is gone, so the same text is checked by its tag (refused by the other secret).
      await expect(keyed.ack('g', 'T', deliveries[0].receiptHandle)).rejects.toThrow(/signature does not match/);
      // A redelivery keeps its own new handle; the first delivery's is checked by its tag, and stale.
      secret = minted;
      await send(1);
      const [first] = await receiveKeyed(2);
      nowMs += 5_000;
      const [second, third] = await receiveKeyed(2);
      expect([second.deliveryAttempt, third.deliveryAttempt]).toEqual([2, 2]);
      await expect(keyed.ack('g', 'T', first.receiptHandle)).rejects.toThrow(/acknowledged or delivered again/);
      secret = randomBytes(32);
      await keyed.ack('g', 'T', third.receiptHandle);
      // A change of invisible duration takes a kept handle the same way, under another secret too,
      // and the handle it answers is kept in turn; a handle no longer kept is checked by its tag by
      // both, so refused alike.
      const changed = await keyed.changeInvisibleDuration('g', 'T', second.receiptHandle, 10_000);
      secret = randomBytes(32);
      await expect(keyed.changeInvisibleDuration('g', 'T', second.receiptHandle, 10_000)).rejects.toThrow(/signature does not match/);
      await expect(keyed.ack('g', 'T', second.receiptHandle)).rejects.toThrow(/signature does not match/);
      const changedAgain = await keyed.changeInvisibleDuration('g', 'T', changed, 10_000);
      await keyed.ack('g', 'T', changedAgain);
      await expect(keyed.changeInvisibleDuration('g', 'T', changedAgain, 10_000)).rejects.toThrow(/acknowledged or delivered again/);
      await expect(keyed.ack('g', 'T', changedAgain)).rejects.toThrow(/acknowledged or delivered again/);
    } finally {
      keyed.close();
    }
  });

  it('refuses a handle altered anywhere, its fixed fields included, though an in-flight entry holds the handle as minted', async () => {
    await send(2);
    const deliveries = await receive('g', 2);
    const handle = deliveries[0].receiptHandle;
    for (const at of [0, 3, 8, 12, 19, 25, handle.length - 3]) {
      const altered = handle.slice(0, at) + (handle[at] === 'A' ? 'B' : 'A') + handle.slice(at + 1);
      await expect(consumer.ack('g', 'T', altered)).rejects.toThrow(/INVALID_RECEIPT_HANDLE|not a handle|signature does not match|unknown format/);
    }
    // Another group's ack of it: its own state has no such delivery, and the tag names another group.
    await expect(consumer.ack('other', 'T', handle)).rejects.toThrow(/issued for another consumer group or topic than other \/ T/);
    expect(await consumer.ackAll('g', 'T', deliveries.map((d) => d.receiptHandle))).toBeUndefined();
  });

  it('fails every entry of an ack batch with the reason when its journal refuses the acks', async () => {
    await send(3);
    const deliveries = await receive('g', 3);
    state.journal.becomeSlave();
    const errors = await consumer.ackAll('g', 'T', deliveries.map((d) => d.receiptHandle));
    expect(errors?.map((error) => (error as Error).message)).toEqual(deliveries.map(() => expect.stringMatching(/slave/)));
    await state.journal.becomeMaster();
    expect(await consumer.ackAll('g', 'T', deliveries.map((d) => d.receiptHandle))).toBeUndefined();
  });

  it('makes a message visible at once with a zero invisible duration, under a new handle', async () => {
    await send(1);
    const [delivery] = await receive('g');
    const renewed = await consumer.changeInvisibleDuration('g', 'T', delivery.receiptHandle, 0);
    expect(renewed).not.toBe(delivery.receiptHandle);
    const [again] = await receive('g');
    expect(idOf(again)).toBe(idOf(delivery));
    expect(again.deliveryAttempt).toBe(2);
  });

  it("brings a push consumer's nacked message back after the retry delay of its attempt, growing, then dead-letters it after the last attempt", async () => {
    await send(1);
    const pushReceive = () => consumer.receive({ group: 'p', topic: 'T', filter: parseTagExpression('*'), countMax: 1, invisibleMs: 60_000, longPollingMs: 0, push: true });
    const [first] = await pushReceive();
    // The Node client nacks with a tiny duration (its backoff in seconds, sent as milliseconds).
    await consumer.changeInvisibleDuration('p', 'T', first.receiptHandle, 1);
    nowMs += 999;
    expect(await pushReceive()).toEqual([]);
    nowMs += 1;
    const [second] = await pushReceive();
    expect(second.deliveryAttempt).toBe(2);
    await consumer.changeInvisibleDuration('p', 'T', second.receiptHandle, 0);
    nowMs += 2_999;
    expect(await pushReceive()).toEqual([]);
    nowMs += 1;
    const [third] = await pushReceive();
    expect(third.deliveryAttempt).toBe(3);
    // The last attempt failed: no further delay, the next look moves it to the dead-letter topic.
    await consumer.changeInvisibleDuration('p', 'T', third.receiptHandle, 0);
    expect(await pushReceive()).toEqual([]);
    const dead = await consumer.receive({ group: 'reader', topic: '%DLQ%p', filter: parseTagExpression('*'), countMax: 10, invisibleMs: 1_000, longPollingMs: 0 });
    expect(dead.map(idOf)).toEqual(['id-0']);
  });

  it("honours a simple consumer's own invisible duration on change, without the retry schedule", async () => {
    await send(1);
    const [delivery] = await receive('g');
    await consumer.changeInvisibleDuration('g', 'T', delivery.receiptHandle, 10);
    nowMs += 10;
    const [again] = await receive('g');
    expect(again.deliveryAttempt).toBe(2);
  });

  it('on a FIFO topic, holds the next message of a group until the previous one is dead-lettered after its last attempt', async () => {
    await topics.create('F', { queueCount: 2, messageType: 'FIFO' });
    const producer = new ProducerService(store, topics);
    await producer.send(['x', 'x', 'y'].map((messageGroup, i) => ({
      topic: 'F', body: Buffer.from(`f${i}`), messageId: `f${i}`, messageType: 'FIFO' as const, messageGroup, keys: [], bornTimestampMs: 0, bornHost: 'h', userProperties: new Map(),
    })));
    const fifoReceive = () => consumer.receive({ group: 'g', topic: 'F', filter: parseTagExpression('*'), countMax: 10, invisibleMs: 1_000, longPollingMs: 0 });
    const firsts = await fifoReceive();
    expect(firsts.map(idOf).sort()).toEqual(['f0', 'f2']);
    await consumer.ack('g', 'F', firsts.find((d) => idOf(d) === 'f2')!.receiptHandle);
    for (const attempt of [2, 3]) {
      nowMs += 1_000;
      const again = await fifoReceive();
      expect(again.map((d) => [idOf(d), d.deliveryAttempt])).toEqual([['f0', attempt]]);
    }
    nowMs += 1_000;
    // f0 is past its last attempt: it moves to the dead-letter topic, and f1 follows at once.
    const next = await fifoReceive();
    expect(next.map((d) => [idOf(d), d.deliveryAttempt])).toEqual([['f1', 1]]);
  });

  describe('broadcast groups', () => {
    const memberReceive = (member: string | undefined, countMax = 100) =>
      consumer.receive({ group: 'bc', topic: 'T', filter: parseTagExpression('*'), countMax, invisibleMs: 1_000, longPollingMs: 0, clientId: member });

    it('gives every member every message, each member with its own progress, new members from the end', async () => {
      expect(await memberReceive('m1')).toEqual([]);
      expect(await memberReceive('m2')).toEqual([]);
      await send(5);
      const one = await memberReceive('m1');
      const two = await memberReceive('m2');
      expect(one.map(idOf).sort()).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
      expect(two.map(idOf).sort()).toEqual(one.map(idOf).sort());
      for (const delivery of one) await consumer.ack('bc', 'T', delivery.receiptHandle, 'm1');
      // m2 did not ack: its messages come back to m2 only.
      nowMs += 1_000;
      expect(await memberReceive('m1')).toEqual([]);
      expect((await memberReceive('m2')).map((d) => d.deliveryAttempt)).toEqual([2, 2, 2, 2, 2]);
      // A member that joins now starts at the end of the queues.
      expect(await memberReceive('m3')).toEqual([]);
    });

    it("refuses one member's handle for another member, and a broadcast receive without a client id", async () => {
      await memberReceive('m1');
      await send(1);
      const [delivery] = await memberReceive('m1');
      await expect(consumer.ack('bc', 'T', delivery.receiptHandle, 'm2')).rejects.toThrow(/issued to another member of broadcast group bc/);
      await consumer.ack('bc', 'T', delivery.receiptHandle, 'm1');
      await expect(memberReceive(undefined)).rejects.toThrow(/broadcast mode, which needs the client id/);
    });

    it('forgets a member idle for longer than the limit: it starts again at the end', async () => {
      await memberReceive('m1');
      await send(2);
      expect(await memberReceive('m1', 1)).toHaveLength(1);
      expect(consumer.broadcastMemberCount).toBe(1);
      nowMs += 5 * 60_000 + 1;
      // The sweep runs every second of real time.
      await eventually(() => expect(consumer.broadcastMemberCount).toBe(0), { timeoutMs: 3_000, intervalMs: 100 });
      // Forgotten: the message it had not received yet is not replayed to it.
      expect(await memberReceive('m1')).toEqual([]);
    });
  });

  describe('server-side renewal of push deliveries', () => {
    const pushReceive = (clientId: string) =>
      consumer.receive({ group: 'renew', topic: 'T', filter: parseTagExpression('*'), countMax: 10, invisibleMs: 4_000, longPollingMs: 0, push: true, clientId });

    it("keeps a live push consumer's message invisible past its invisible time, until the client goes away", async () => {
      await send(1);
      const [delivery] = await pushReceive('c1');
      expect(consumer.renewalCount).toBe(1);
      // Half of the invisible time left: the sweep (every second of real time) pushes it back.
      nowMs += 2_500;
      consumer.clientSeen('c1');
      await eventually(() => expect(consumer.renewedTotal).toBe(1), { timeoutMs: 3_000, intervalMs: 100 });
      nowMs += 3_000;
      expect(await pushReceive('c2')).toEqual([]);
      // The client says goodbye: no more renewal, the message comes back after its invisible time.
      consumer.clientGone('c1');
      await eventually(() => expect(consumer.renewalCount).toBe(0), { timeoutMs: 3_000, intervalMs: 100 });
      nowMs += 4_000;
      const [again] = await pushReceive('c2');
      expect(again.deliveryAttempt).toBe(2);
      // The first delivery's handle still acks until then; now it is stale.
      await expect(consumer.ack('renew', 'T', delivery.receiptHandle)).rejects.toThrow(/acknowledged or delivered again/);
    });

    it('does not renew a simple consumer\'s delivery', async () => {
      await send(1);
      await consumer.receive({ group: 'simple', topic: 'T', filter: parseTagExpression('*'), countMax: 10, invisibleMs: 4_000, longPollingMs: 0, clientId: 'c1' });
      expect(consumer.renewalCount).toBe(0);
    });
  });
});
