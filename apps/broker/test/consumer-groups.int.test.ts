// Consumer groups with their own settings, made with `rmq group create`, seen through the
// official clients: the group's maximum attempts and retry policy decide redeliveries and dead
// letters and are told in the Telemetry settings; a --fifo group holds a message group's next
// message until the failing one is dead-lettered; a broadcast group gives every client everything.
import { ConsumeResult } from 'rocketmq-client-nodejs';
import { create, createClient, durationMs, namesrv, v2 } from '@rmq/contracts';
import { eventually, officialPushConsumer as pushConsumer, officialSimpleConsumer as simpleConsumer, readDeadLetters, runRmq } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

describe('consumer groups made with rmq group create', () => {
  // The broker's defaults are far from the groups' own settings, so a test cannot pass on them.
  const local = useLocalCluster({ brokerArgs: ['--delivery-attempts-max', '17', '--push-long-polling-ms', '2000'], producer: true });

  const rmq = async (...args: string[]) => {
    const run = await runRmq([...args, '--broker', local.cluster.endpoint]);
    if (run.code !== 0) throw new Error(`rmq ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run.stdout;
  };

  it('a group with --max-attempts 3 --retry customized:1s gets exactly 3 deliveries (attempts 1, 2, 3), then the message is in %DLQ%G; the Telemetry settings say 3', async () => {
    await local.cluster.createTopic('GroupRetryTopic');
    expect(await rmq('group', 'create', 'G', '--max-attempts', '3', '--retry', 'customized:1s')).toContain('Max attempts     3');
    const settings = await telemetrySettings(local.cluster.endpoint, 'G', 'GroupRetryTopic');
    expect(settings.backoffPolicy?.maxAttempts).toBe(3);
    const next = settings.backoffPolicy?.strategy.case === 'customizedBackoff' ? settings.backoffPolicy.strategy.value.next.map(durationMs) : [];
    expect(next).toEqual([1_000]);

    const attempts: number[] = [];
    const consumer = pushConsumer(local.cluster.endpoint, 'G', 'GroupRetryTopic', (message) => {
      attempts.push(message.deliveryAttempt!);
      return ConsumeResult.FAILURE;
    });
    await consumer.startup();
    let receipt: { messageId: string };
    try {
      receipt = await local.producer.send({ topic: 'GroupRetryTopic', body: Buffer.from('fails every time') });
      await eventually(() => expect(attempts).toEqual([1, 2, 3]), { timeoutMs: 20_000 });
    } finally {
      await consumer.shutdown();
    }
    const [dead] = await readDeadLetters(local.cluster.endpoint, 'G');
    expect(dead.messageId).toBe(receipt.messageId);
    expect(attempts).toEqual([1, 2, 3]); // no fourth delivery meanwhile
    const shown = await rmq('group', 'show', 'G');
    expect(shown).toMatch(/Retry policy\s+customized:1s/);
    expect(shown).toMatch(/Total lag: 0/);
  }, 60_000);

  it('a --fifo group on a FIFO topic: the next message of a message group comes after the failing one went to the dead-letter topic on its third failure', async () => {
    await local.cluster.createTopic('GroupFifoTopic', { messageType: namesrv.TopicMessageType.FIFO, queueCount: 2 });
    await rmq('group', 'create', 'F', '--fifo', '--max-attempts', '3', '--retry', 'exponential:100ms,200ms,2');
    const settings = await telemetrySettings(local.cluster.endpoint, 'F', 'GroupFifoTopic');
    expect(settings.pubSub.case === 'subscription' && settings.pubSub.value.fifo).toBe(true);
    expect(settings.backoffPolicy?.maxAttempts).toBe(3);

    const seen: string[] = [];
    const consumer = pushConsumer(local.cluster.endpoint, 'F', 'GroupFifoTopic', (message) => {
      const body = message.body.toString();
      seen.push(body);
      return body === 'first' ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
    });
    await consumer.startup();
    try {
      for (const body of ['first', 'second']) await local.producer.send({ topic: 'GroupFifoTopic', body: Buffer.from(body), messageGroup: 'order-1' });
      await eventually(() => expect(seen).toContain('second'), { timeoutMs: 30_000 });
      // The FIFO push consumer runs the failing message max-attempts times before it gives up.
      expect(seen).toEqual(['first', 'first', 'first', 'second']);
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);

  it('a broadcast group made with rmq group create gives every client every message', async () => {
    await local.cluster.createTopic('GroupBroadcastTopic', { queueCount: 2 });
    await rmq('group', 'create', 'B', '--consume-type', 'broadcast');
    const members = [simpleConsumer(local.cluster.endpoint, 'B', 'GroupBroadcastTopic'), simpleConsumer(local.cluster.endpoint, 'B', 'GroupBroadcastTopic')];
    await Promise.all(members.map((member) => member.startup()));
    try {
      // A new broadcast member starts at the end of the queues: receive once before sending.
      for (const member of members) await member.receive(16, 30_000);
      const sent = new Set<string>();
      for (let i = 0; i < 10; i++) sent.add((await local.producer.send({ topic: 'GroupBroadcastTopic', body: Buffer.from(`b${i}`) })).messageId);
      for (const member of members) {
        const got = new Set<string>();
        await eventually(async () => {
          for (const message of await member.receive(16, 30_000)) {
            got.add(message.messageId);
            await member.ack(message);
          }
          expect(got).toEqual(sent);
        }, { timeoutMs: 20_000 });
      }
    } finally {
      await Promise.all(members.map((member) => member.shutdown()));
    }
  }, 60_000);

  it('refuses bad settings and unknown groups with a clear message', async () => {
    const bad = await runRmq(['group', 'create', 'Bad', '--retry', 'exponential:1s', '--broker', local.cluster.endpoint]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('exponential needs <initial>,<max>,<multiplier>');
    const missing = await runRmq(['group', 'update', 'Nobody', '--max-attempts', '2', '--broker', local.cluster.endpoint]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('consumer group Nobody does not exist');
    await rmq('group', 'create', 'Twice');
    const twice = await runRmq(['group', 'create', 'Twice', '--broker', local.cluster.endpoint]);
    expect(twice.stderr).toContain('consumer group Twice already exists; update it instead');
  });
});

/** The settings the broker answers a push consumer of `group` subscribing to `topic`. */
async function telemetrySettings(endpoint: string, group: string, topic: string): Promise<v2.Settings> {
  const client = createClient(v2.MessagingService, endpoint);
  try {
    const stream = client.telemetry({ deadlineMs: 10_000 });
    const reply = new Promise<v2.TelemetryCommand>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write(create(v2.TelemetryCommandSchema, {
      command: { case: 'settings', value: { clientType: v2.ClientType.PUSH_CONSUMER, pubSub: { case: 'subscription', value: { group: { name: group }, subscriptions: [{ topic: { name: topic }, expression: { type: v2.FilterType.TAG, expression: '*' } }] } } } },
    }));
    const command = await reply;
    stream.end();
    stream.cancel();
    if (command.command.case !== 'settings') throw new Error(`expected settings, got ${command.command.case}`);
    return command.command.value;
  } finally {
    client.close();
  }
}
