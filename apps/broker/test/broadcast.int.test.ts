// Broadcast consumption with the official clients: in a group the broker consumes in broadcast
// mode (--broadcast-groups), every client gets every message, each with its own progress (by
// client id); members start at the end of the queues when they first receive.
import { ConsumeResult, PushConsumer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { eventually, quietClientLogger } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

describe('broadcast consumption with the official clients', () => {
  const local = useLocalCluster({ brokerArgs: ['--broadcast-groups', 'simple-broadcast,push-broadcast', '--push-long-polling-ms', '2000'], topics: ['BroadcastTopic', 'PushBroadcastTopic'], producer: true });

  const send = async (topic: string, count: number, prefix: string) => {
    const ids = new Set<string>();
    for (let i = 0; i < count; i++) ids.add((await local.producer.send({ topic, body: Buffer.from(`${prefix}-${i}`) })).messageId);
    return ids;
  };

  it('gives every SimpleConsumer of a broadcast group every message; one member acking does not take it from another', async () => {
    const members = [0, 1].map(() => new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'simple-broadcast', subscriptions: new Map([['BroadcastTopic', '*']]), awaitDuration: 1_000, logger: quietClientLogger }));
    await Promise.all(members.map((member) => member.startup()));
    try {
      // A member's progress starts at the end of the queues on its first receive.
      for (const member of members) expect(await member.receive(32, 30_000)).toEqual([]);
      const ids = await send('BroadcastTopic', 40, 'broadcast');
      const got = await Promise.all(members.map(async (member, index) => {
        const seen: string[] = [];
        await eventually(async () => {
          for (const message of await member.receive(32, 30_000)) {
            seen.push(message.messageId);
            // The first member acks, the second leaves its copies in flight.
            if (index === 0) await member.ack(message);
          }
          expect(seen).toHaveLength(ids.size);
        }, { timeoutMs: 15_000 });
        return seen;
      }));
      for (const seen of got) expect(new Set(seen)).toEqual(ids);
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 40_000);

  it('gives every PushConsumer of a broadcast group every message', async () => {
    const seen = [new Set<string>(), new Set<string>()];
    const members = seen.map((mine) => new PushConsumer({
      endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'push-broadcast', subscriptions: new Map([['PushBroadcastTopic', '*']]), logger: quietClientLogger,
      messageListener: { consume: (message: MessageView) => { mine.add(message.body.toString()); return ConsumeResult.SUCCESS; } },
    }));
    await Promise.all(members.map((member) => member.startup()));
    try {
      // Wait until both members receive (a member starts at the end of the queues when it first polls).
      let probe = 0;
      await eventually(async () => {
        await local.producer.send({ topic: 'PushBroadcastTopic', body: Buffer.from(`probe-${probe++}`) });
        for (const mine of seen) expect([...mine].some((body) => body.startsWith('probe-'))).toBe(true);
      }, { timeoutMs: 15_000, intervalMs: 300 });
      await send('PushBroadcastTopic', 40, 'push');
      const expected = Array.from({ length: 40 }, (_, i) => `push-${i}`);
      await eventually(() => {
        for (const mine of seen) expect(expected.filter((body) => !mine.has(body))).toEqual([]);
      }, { timeoutMs: 15_000 });
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 40_000);
});
