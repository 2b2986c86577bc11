// FIFO consumption with the official client: on a FIFO topic, the messages of one message group
// reach a consumer group strictly in send order, the next only after the previous is acked or
// dead-lettered; different message groups proceed in parallel. (As in push-consumer.int.test.ts,
// jest needs the runner's watchdog to exit: the client's consume service leaks a logger timer.)
import { ConsumeResult, PushConsumer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { namesrv } from '@rmq/contracts';
import { delay } from '@rmq/base';
import { eventually, quietClientLogger } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

const FIFO = { messageType: namesrv.TopicMessageType.FIFO };

function pushConsumer(endpoint: string, group: string, topic: string, consume: (message: MessageView) => Promise<ConsumeResult>): PushConsumer {
  return new PushConsumer({ endpoints: endpoint, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), messageListener: { consume }, logger: quietClientLogger });
}

describe('FIFO consumption with the official client', () => {
  const local = useLocalCluster({ brokerArgs: ['--delivery-attempts-max', '3', '--retry-delays', '200ms', '--push-long-polling-ms', '2000'], topics: ['FifoSimpleTopic', 'FifoPushTopic', 'FifoPoisonTopic'], topicOptions: FIFO, producer: true });

  /** Sends `perGroup` messages to each group: groups concurrently, each group in sequence. */
  async function sendGroups(topic: string, groups: string[], perGroup: number): Promise<void> {
    await Promise.all(groups.map(async (messageGroup) => {
      for (let seq = 0; seq < perGroup; seq++) await local.producer.send({ topic, messageGroup, body: Buffer.from(`${messageGroup}:${seq}`) });
    }));
  }
  const seqOf = (message: MessageView) => Number(message.body.toString().split(':')[1]);

  it("gives a SimpleConsumer only the oldest unacked message of each group, the next one after the ack", async () => {
    await sendGroups('FifoSimpleTopic', ['a', 'b', 'c'], 3);
    const consumer = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'fifo-simple', subscriptions: new Map([['FifoSimpleTopic', '*']]), awaitDuration: 1_000, logger: quietClientLogger });
    await consumer.startup();
    try {
      const first = await eventually(async () => {
        const batch = await consumer.receive(32, 30_000);
        expect(batch).toHaveLength(3);
        return batch;
      }, { timeoutMs: 10_000 });
      expect(first.map((m) => `${m.messageGroup}:${seqOf(m)}`).sort()).toEqual(['a:0', 'b:0', 'c:0']);
      // Nothing more while the heads are in flight.
      expect(await consumer.receive(32, 30_000)).toEqual([]);
      await consumer.ack(first.find((m) => m.messageGroup === 'b')!);
      const [next] = await eventually(async () => {
        const batch = await consumer.receive(32, 30_000);
        expect(batch).toHaveLength(1);
        return batch;
      }, { timeoutMs: 5_000 });
      expect(`${next.messageGroup}:${seqOf(next)}`).toBe('b:1');
      for (const message of [...first.filter((m) => m.messageGroup !== 'b'), next]) await consumer.ack(message);
    } finally {
      await consumer.shutdown();
    }
  }, 40_000);

  it('keeps the order of every message group with two push consumers of one group, groups in parallel, nothing lost', async () => {
    const groups = Array.from({ length: 6 }, (_, i) => `order-${i}`);
    const perGroup = 20;
    const consumed = new Map<string, number[]>();
    const busy = new Set<string>();
    const overlaps: string[] = [];
    let parallelMax = 0;
    let failedOnce = false;
    const listener = (member: string) => async (message: MessageView) => {
      const group = message.messageGroup!;
      if (busy.has(group)) overlaps.push(`${member} got ${group}:${seqOf(message)} while another was in progress`);
      busy.add(group);
      parallelMax = Math.max(parallelMax, busy.size);
      await delay(5);
      busy.delete(group);
      // One failure, retried by the client in place: order must still hold.
      if (group === 'order-2' && seqOf(message) === 5 && !failedOnce) {
        failedOnce = true;
        return ConsumeResult.FAILURE;
      }
      consumed.set(group, [...(consumed.get(group) ?? []), seqOf(message)]);
      return ConsumeResult.SUCCESS;
    };
    const members = [pushConsumer(local.cluster.endpoint, 'fifo-push', 'FifoPushTopic', listener('a')), pushConsumer(local.cluster.endpoint, 'fifo-push', 'FifoPushTopic', listener('b'))];
    await Promise.all(members.map((member) => member.startup()));
    try {
      await sendGroups('FifoPushTopic', groups, perGroup);
      await eventually(() => expect([...consumed.values()].flat()).toHaveLength(groups.length * perGroup), { timeoutMs: 20_000 });
      for (const group of groups) expect(consumed.get(group)).toEqual(Array.from({ length: perGroup }, (_, seq) => seq));
      expect(overlaps).toEqual([]);
      expect(failedOnce).toBe(true);
      // Different message groups were consumed at the same time.
      expect(parallelMax).toBeGreaterThan(1);
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 40_000);

  it('forwards a message that keeps failing to %DLQ%<group> (ForwardMessageToDeadLetterQueue), then delivers the next of its group', async () => {
    const calls: string[] = [];
    const consumer = pushConsumer(local.cluster.endpoint, 'fifo-poison', 'FifoPoisonTopic', async (message) => {
      calls.push(`${seqOf(message)}@${message.deliveryAttempt}`);
      return seqOf(message) === 0 ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
    });
    await consumer.startup();
    try {
      await sendGroups('FifoPoisonTopic', ['poison'], 2);
      // Three local attempts of the first message (max attempts 3), then the second message.
      await eventually(() => expect(calls).toEqual(['0@1', '0@2', '0@3', '1@1']), { timeoutMs: 15_000 });
    } finally {
      await consumer.shutdown();
    }
    const reader = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'fifo-dlq-reader', subscriptions: new Map([['%DLQ%fifo-poison', '*']]), awaitDuration: 1_000, logger: quietClientLogger });
    await reader.startup();
    try {
      const [dead] = await eventually(async () => {
        const batch = await reader.receive(1, 10_000);
        expect(batch).toHaveLength(1);
        return batch;
      }, { timeoutMs: 10_000 });
      expect(dead.body.toString()).toBe('poison:0');
      await reader.ack(dead);
    } finally {
      await reader.shutdown();
    }
  }, 40_000);
});
