// Caps on receives (long polls) running at once, per client and per consumer group, with the
// official client: over a cap a receive fails at once with TOO_MANY_REQUESTS and the reason,
// other clients and groups go on, and a slot comes back when a receive returns or its caller
// goes away (a cancelled call holds nothing). A push consumer's receives, one per assigned queue,
// are not counted: the official one retries a refused receive after 20 ms. (Jest needs the
// runner's watchdog to exit after this suite: the push consumer's file logger keeps a timer.)
import { join } from 'node:path';
import { admin, createClient, durationFromMs, v2, type ServiceClient } from '@rmq/contracts';
import * as grpc from '@grpc/grpc-js';
import { eventually, killAllApps, makeTempDir, quietClientLogger, startApp, startOfficialSimpleConsumer, type AppProcess, scrapeMetrics } from '@rmq/testing';
import { ConsumeResult, PushConsumer, type SimpleConsumer } from 'rocketmq-client-nodejs';

const temp = makeTempDir('receive-caps');
const AWAIT_MS = 20_000; // receives stay waiting for the whole test unless a message comes

describe('receive caps per client and per group', () => {
  let broker: AppProcess;
  let messaging: ServiceClient<typeof v2.MessagingService.method>;
  let sent = 0;
  // Sends go through a plain gRPC client: the official producer's telemetry stream outlives its shutdown.
  const producer = {
    send: async (message: { topic: string; body: Buffer }) => {
      const reply = await messaging.sendMessage({
        messages: [{ topic: { name: message.topic }, body: message.body, systemProperties: { messageId: `caps-${++sent}`, bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
      }, { deadlineMs: 5_000 });
      expect(reply.status?.code).toBe(v2.Code.OK);
    },
  };
  const consumers: SimpleConsumer[] = [];
  const pending: Promise<unknown>[] = [];

  async function refusedReceives(): Promise<number> {
    const text = await scrapeMetrics(broker);
    const line = /^rocketmq_rpc_latency_count\{[^}]*request_code="ReceiveMessage"[^}]*response_code="TOO_MANY_REQUESTS"[^}]*\} (\d+)$/m.exec(text);
    return line ? Number(line[1]) : 0;
  }

  async function receivesRunning(): Promise<number> {
    const text = await scrapeMetrics(broker);
    return Number(/^rmq_receives_running(?:\{[^}]*\})? (\d+)$/m.exec(text)![1]);
  }

  /** A receive left waiting; its outcome is kept (it may end with the broker). */
  function waiting(consumer: SimpleConsumer): Promise<unknown> {
    const receive = consumer.receive(1, 30_000).then((messages) => messages, (error: unknown) => error);
    pending.push(receive);
    return receive;
  }

  async function consumer(group: string, topic: string): Promise<SimpleConsumer> {
    const started = await startOfficialSimpleConsumer(broker.endpoints.grpc, group, topic, AWAIT_MS);
    consumers.push(started);
    return started;
  }

  beforeAll(async () => {
    broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'broker'), '--name-servers', '',
      '--auto-create-topics', '--default-queue-count', '1', '--receives-per-client-max', '3', '--receives-per-group-max', '4', '--push-long-polling-ms', '2000']);
    messaging = createClient(v2.MessagingService, broker.endpoints.grpc);
    await producer.send({ topic: 'Capped', body: Buffer.from('creates the topic') });
    await producer.send({ topic: 'Elsewhere', body: Buffer.from('for another group') });
  }, 30_000);

  afterAll(async () => {
    for (const c of consumers) await c.shutdown();
    messaging?.close();
    // The clients' telemetry streams end before the broker goes, and the broker goes gracefully: a
    // released official stream has no error listener left, and a SIGKILL can reset the connection
    // before the client has read its stream's last status ("Connection dropped", unhandled).
    await eventually(async () => expect(await scrapeMetrics(broker)).not.toMatch(/^rocketmq_consumer_connections\{[^}]*\} [1-9]/m));
    await broker?.kill('SIGTERM');
    await killAllApps();
    temp.remove();
  });

  it('refuses a client\'s receive over its cap and a group\'s over its cap; other groups are served', async () => {
    const a = await consumer('capped', 'Capped');
    // The message already there goes to the first receive; the next three wait.
    const first = (await a.receive(1, 30_000))[0];
    await a.ack(first);
    for (let i = 0; i < 3; i++) waiting(a);
    await eventually(async () => expect(await receivesRunning()).toBe(3));
    await expect(a.receive(1, 30_000)).rejects.toMatchObject({ name: 'TooManyRequestsException', message: expect.stringContaining('already has 3 receives waiting on this broker; the limit is 3') });

    const b = await consumer('capped', 'Capped');
    waiting(b);
    await eventually(async () => expect(await receivesRunning()).toBe(4));
    await expect(b.receive(1, 30_000)).rejects.toMatchObject({ name: 'TooManyRequestsException', message: expect.stringContaining('consumer group capped already has 4 receives waiting on this broker; the limit is 4') });

    const other = await consumer('elsewhere', 'Elsewhere');
    const served = await other.receive(1, 30_000);
    expect(served.map((message) => message.body.toString())).toEqual(['for another group']);
    await other.ack(served[0]);

    // A new message ends one waiting receive: its slot is free again.
    await producer.send({ topic: 'Capped', body: Buffer.from('wakes one') });
    await eventually(async () => expect(await receivesRunning()).toBe(3));
    // The others end the same way; every message went to exactly one receive.
    for (const body of ['two', 'three', 'four']) await producer.send({ topic: 'Capped', body: Buffer.from(body) });
    const received = (await Promise.all(pending)) as { body: Buffer }[][];
    expect(received.map((messages) => messages.map((message) => message.body.toString())).flat().sort()).toEqual(['four', 'three', 'two', 'wakes one']);
    expect(await receivesRunning()).toBe(0);
  }, 60_000);

  it('frees the slot of a receive whose caller went away', async () => {
    const raw = createClient(v2.MessagingService, broker.endpoints.grpc);
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-mq-client-id', 'vanishing-client');
      const abort = new AbortController();
      const topics = createClient(admin.AdminService, broker.endpoints.grpc);
      await topics.createTopic({ name: 'Quiet', queueCount: 1 }, { deadlineMs: 5_000 }).finally(() => topics.close());
      const running = await receivesRunning();
      const stream = raw.receiveMessage({
        group: { name: 'vanishing' }, messageQueue: { topic: { name: 'Quiet' }, id: 0 }, filterExpression: { type: v2.FilterType.TAG, expression: '*' },
        batchSize: 1, invisibleDuration: durationFromMs(30_000), longPollingTimeout: durationFromMs(AWAIT_MS),
      }, { metadata, signal: abort.signal });
      stream.on('error', () => undefined); // cancelled below
      await eventually(async () => expect(await receivesRunning()).toBe(running + 1));
      abort.abort();
      await eventually(async () => expect(await receivesRunning()).toBe(running));
    } finally {
      raw.close();
    }
  }, 30_000);

  it('serves an official push consumer with more assigned queues than the caps, refusing none of its receives', async () => {
    const admins = createClient(admin.AdminService, broker.endpoints.grpc);
    await admins.createTopic({ name: 'Spread', queueCount: 8 }, { deadlineMs: 5_000 }).finally(() => admins.close());
    const refusedBefore = await refusedReceives();
    const consumed = new Set<string>();
    const pusher = new PushConsumer({
      endpoints: broker.endpoints.grpc, namespace: '', consumerGroup: 'pushers', subscriptions: new Map([['Spread', '*']]), logger: quietClientLogger,
      messageListener: { consume: (message) => (consumed.add(message.body.toString()), ConsumeResult.SUCCESS) },
    });
    await pusher.startup();
    try {
      // Eight assigned queues, one receive each: more than the caps of 3 per client and 4 per group.
      await eventually(async () => expect(await receivesRunning()).toBe(8), { timeoutMs: 15_000 });
      for (let i = 0; i < 40; i++) await producer.send({ topic: 'Spread', body: Buffer.from(`spread-${i}`) });
      await eventually(() => expect(consumed.size).toBe(40), { timeoutMs: 20_000 });
      expect(await refusedReceives()).toBe(refusedBefore);
    } finally {
      await pusher.shutdown();
    }
  }, 60_000);
});
