// The official PushConsumer against the broker: assignments, shared consumption, retries with
// the group's backoff, dead letters, and the retry policy told in the Telemetry settings. The
// broker runs with a short retry schedule so the suite stays fast; the default schedule (10 s up
// to 2 h) is unit-tested in libs/messaging. (Jest needs the runner's watchdog to exit after this
// suite: the client's consume service creates a file logger whose 1 s flush interval is never
// cleared.)
import { ConsumeResult, PushConsumer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { create, createClient, durationMs, namesrv, v2 } from '@rmq/contracts';
import { delay } from '@rmq/base';
import { eventually, quietClientLogger, scrapeMetrics } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

const RETRY_DELAYS_MS = [400, 1_200, 2_000];
/** Short, so that the renewal test needs a listener only a few seconds slow. */
const PUSH_INVISIBLE_MS = 3_000;
const RETRY_DELAYS = RETRY_DELAYS_MS.map((ms) => `${ms}ms`);

function pushConsumer(endpoint: string, group: string, topic: string, consume: (message: MessageView) => ConsumeResult | Promise<ConsumeResult>): PushConsumer {
  return new PushConsumer({
    endpoints: endpoint,
    namespace: '',
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    messageListener: { consume },
    logger: quietClientLogger,
  });
}

describe('official PushConsumer against the broker', () => {
  const local = useLocalCluster({
    brokerArgs: ['--delivery-attempts-max', '4', '--retry-delays', RETRY_DELAYS.join(','), '--push-long-polling-ms', '2000', '--push-invisible-ms', String(PUSH_INVISIBLE_MS)],
    topics: ['PushTopic', 'RetryTopic'],
    producer: true,
  });

  it('shares a topic between two members of a group: each message consumed once, none missing', async () => {
    const consumedBy = new Map<string, string[]>();
    const record = (member: string) => (message: MessageView) => {
      consumedBy.set(message.messageId, [...(consumedBy.get(message.messageId) ?? []), member]);
      return ConsumeResult.SUCCESS;
    };
    const members = [pushConsumer(local.cluster.endpoint, 'push-group', 'PushTopic', record('a')), pushConsumer(local.cluster.endpoint, 'push-group', 'PushTopic', record('b'))];
    await Promise.all(members.map((member) => member.startup()));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push((await local.producer.send({ topic: 'PushTopic', body: Buffer.from(`push-${i}`) })).messageId);
      await eventually(() => expect(consumedBy.size).toBe(200), { timeoutMs: 30_000 });
      expect([...consumedBy.keys()].sort()).toEqual([...ids].sort());
      expect([...consumedBy.values()].filter((by) => by.length > 1)).toEqual([]);
      const members = new Set([...consumedBy.values()].flat());
      expect(members).toEqual(new Set(['a', 'b']));
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 60_000);

  it('retries a message whose listener fails, with a growing delivery attempt, until it succeeds', async () => {
    const attempts: { attempt: number; atMs: number }[] = [];
    const consumer = pushConsumer(local.cluster.endpoint, 'retry-group', 'RetryTopic', (message) => {
      attempts.push({ attempt: message.deliveryAttempt ?? 0, atMs: Date.now() });
      return attempts.length < 3 ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
    });
    await consumer.startup();
    try {
      await local.producer.send({ topic: 'RetryTopic', body: Buffer.from('flaky') });
      await eventually(() => expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]), { timeoutMs: 15_000 });
      // Each retry waits at least the schedule's delay for the attempt that failed: the gaps grow.
      const gaps = [attempts[1].atMs - attempts[0].atMs, attempts[2].atMs - attempts[1].atMs];
      expect(gaps[0]).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[0]);
      expect(gaps[1]).toBeGreaterThanOrEqual(RETRY_DELAYS_MS[1]);
      expect(gaps[1]).toBeGreaterThan(gaps[0]);
      // Acked on the third attempt: the group's progress shows it done.
      await eventually(async () => {
        const { queues } = await local.cluster.admin.getGroup({ name: 'retry-group' }, { deadlineMs: 5_000 });
        const topicQueues = queues.filter((queue) => queue.topic === 'RetryTopic');
        expect(topicQueues.reduce((sum, queue) => sum + queue.committedOffset, 0n)).toBe(1n);
        expect(topicQueues.reduce((sum, queue) => sum + queue.inflight, 0)).toBe(0);
      }, { timeoutMs: 5_000 });
      expect(attempts).toHaveLength(3);
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);

  it('moves a message whose listener always fails to %DLQ%<group> after the maximum attempts, where it can be read', async () => {
    await local.cluster.createTopic('PoisonPushTopic');
    const attempts: number[] = [];
    const consumer = pushConsumer(local.cluster.endpoint, 'poison-push-group', 'PoisonPushTopic', (message) => {
      attempts.push(message.deliveryAttempt ?? 0);
      return ConsumeResult.FAILURE;
    });
    await consumer.startup();
    let receipt: { messageId: string };
    try {
      receipt = await local.producer.send({ topic: 'PoisonPushTopic', body: Buffer.from('always fails'), keys: ['poison-push'] });
      await eventually(() => expect(attempts).toEqual([1, 2, 3, 4]), { timeoutMs: 15_000 });
    } finally {
      await consumer.shutdown();
    }
    const reader = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'dlq-reader', subscriptions: new Map([['%DLQ%poison-push-group', '*']]), awaitDuration: 2_000, logger: quietClientLogger });
    await reader.startup();
    try {
      const [dead] = await eventually(async () => {
        const batch = await reader.receive(1, 10_000);
        expect(batch).toHaveLength(1);
        return batch;
      }, { timeoutMs: 10_000 });
      expect(dead.messageId).toBe(receipt.messageId);
      expect(dead.body.toString()).toBe('always fails');
      expect(dead.keys).toEqual(['poison-push']);
      await reader.ack(dead);
    } finally {
      await reader.shutdown();
    }
    expect(attempts).toEqual([1, 2, 3, 4]);
    const metrics = await scrapeMetrics(local.cluster.broker);
    expect(metrics).toMatch(/rocketmq_send_to_dlq_messages_total\{topic="PoisonPushTopic",consumer_group="poison-push-group".*\} 1/);
  }, 60_000);

  it('keeps a message invisible while its listener works longer than the invisible time (server-side renewal): consumed once', async () => {
    await local.cluster.createTopic('SlowTopic');
    const deliveries: string[] = [];
    let done = false;
    const listener = (member: string) => async (message: MessageView) => {
      deliveries.push(`${member}@${message.deliveryAttempt}`);
      await delay(PUSH_INVISIBLE_MS * 2 + 1_000);
      done = true;
      return ConsumeResult.SUCCESS;
    };
    const members = [pushConsumer(local.cluster.endpoint, 'slow-group', 'SlowTopic', listener('a')), pushConsumer(local.cluster.endpoint, 'slow-group', 'SlowTopic', listener('b'))];
    await Promise.all(members.map((member) => member.startup()));
    try {
      await local.producer.send({ topic: 'SlowTopic', body: Buffer.from('takes a while') });
      await eventually(() => expect(done).toBe(true), { timeoutMs: 20_000 });
      // Acked: the group's state shows it done, and it was never handed out a second time.
      await eventually(async () => {
        const { queues } = await local.cluster.admin.getGroup({ name: 'slow-group' }, { deadlineMs: 5_000 });
        expect(queues.filter((queue) => queue.topic === 'SlowTopic').reduce((sum, queue) => sum + queue.committedOffset, 0n)).toBe(1n);
      }, { timeoutMs: 5_000 });
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatch(/@1$/);
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 40_000);

  it("tells consumers the group's retry policy in the Telemetry settings: the schedule for standard topics, exponential and fifo for FIFO topics", async () => {
    await local.cluster.createTopic('FifoSettingsTopic', { messageType: namesrv.TopicMessageType.FIFO });
    const client = createClient(v2.MessagingService, local.cluster.endpoint);
    try {
      const settingsFor = async (topic: string): Promise<v2.Settings> => {
        const stream = client.telemetry({ deadlineMs: 10_000 });
        const reply = new Promise<v2.TelemetryCommand>((resolve, reject) => {
          stream.once('data', resolve);
          stream.once('error', reject);
        });
        stream.write(create(v2.TelemetryCommandSchema, {
          command: { case: 'settings', value: { clientType: v2.ClientType.PUSH_CONSUMER, pubSub: { case: 'subscription', value: { group: { name: 'settings-group' }, subscriptions: [{ topic: { name: topic }, expression: { type: v2.FilterType.TAG, expression: '*' } }] } } } },
        }));
        const command = await reply;
        stream.end();
        stream.cancel();
        if (command.command.case !== 'settings') throw new Error(`expected settings, got ${command.command.case}`);
        return command.command.value;
      };
      const standard = await settingsFor('RetryTopic');
      expect(standard.backoffPolicy?.maxAttempts).toBe(4);
      expect(standard.backoffPolicy?.strategy.case).toBe('customizedBackoff');
      const next = standard.backoffPolicy?.strategy.case === 'customizedBackoff' ? standard.backoffPolicy.strategy.value.next : [];
      expect(next.map(durationMs)).toEqual(RETRY_DELAYS_MS);
      expect(standard.pubSub.case === 'subscription' && standard.pubSub.value.fifo).toBe(false);

      const fifo = await settingsFor('FifoSettingsTopic');
      expect(fifo.backoffPolicy?.maxAttempts).toBe(4);
      expect(fifo.pubSub.case === 'subscription' && fifo.pubSub.value.fifo).toBe(true);
      const exponential = fifo.backoffPolicy?.strategy.case === 'exponentialBackoff' ? fifo.backoffPolicy.strategy.value : undefined;
      expect(exponential && [durationMs(exponential.initial!), durationMs(exponential.max!), exponential.multiplier]).toEqual([RETRY_DELAYS_MS[0], RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1], 2]);
    } finally {
      client.close();
    }
  });
});
