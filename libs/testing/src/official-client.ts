// The official rocketmq-client-nodejs as tests and benchmarks use it: silent, and producers and
// consumers made in one call.
import { EventEmitter } from 'node:events';
import { appendFileSync } from 'node:fs';
import { format } from 'node:util';
import { Producer, PushConsumer, SimpleConsumer, type ConsumeResult, type MessageView } from 'rocketmq-client-nodejs';
import { eventually } from './eventually';

/**
 * A logger for the official client that prints nothing (by default it writes to the console and
 * ~/logs), unless RMQ_TEST_CLIENT_LOG names a file: then every client line is appended there.
 */
export const quietClientLogger = clientLogger(process.env.RMQ_TEST_CLIENT_LOG);

// The client's consume services ignore the logger a consumer is given: each makes its own with
// getDefaultLogger (an EggLogger appending to ~/logs/rocketmq, whose 1 s flush interval nothing
// ever clears, so a jest run with a push consumer could not exit). They get this one instead.
(require('rocketmq-client-nodejs/dist/client/Logger') as { getDefaultLogger: () => unknown }).getDefaultLogger = () => quietClientLogger;

function clientLogger(file: string | undefined): never {
  if (!file) return { info() {}, warn() {}, error() {}, debug() {} } as never;
  const line = (level: string) => (...args: unknown[]) => appendFileSync(file, `${new Date().toISOString()} ${level} ${format(...args)}\n`);
  return { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') } as never;
}

/** An official producer connected to `endpoints`, started (its settings handshake done). */
export async function startOfficialProducer(endpoints: string): Promise<Producer> {
  const producer = new Producer({ endpoints, namespace: '', logger: quietClientLogger });
  await producer.startup();
  return producer;
}

/**
 * Shuts an official client down, also when a broker of its routes is gone, so that nothing of it
 * keeps the process alive (a jest run could not exit). Its shutdown() tells each broker that it
 * ends and gives up at the first that does not answer, before it releases its telemetry streams
 * and closes its connections and their 60 s idle check: a broker that does not answer is passed
 * over here. And a telemetry stream that failed (its broker gone) is reopened a second later by a
 * timer that shutdown() leaves: reopened after it, the stream is one that never connects nor fails.
 * What else the shutdown fails with is not the subject of the tests that call this.
 */
export async function shutdownOfficialClient(client: Producer | PushConsumer | SimpleConsumer | undefined): Promise<void> {
  if (!client) return;
  const internals = client as unknown as {
    rpcClientManager: { notifyClientTermination: (...args: unknown[]) => Promise<unknown> };
    createTelemetryStream: () => unknown;
  };
  const connections = internals.rpcClientManager;
  const notify = connections.notifyClientTermination.bind(connections);
  connections.notifyClientTermination = (...args) => notify(...args).catch(() => undefined);
  await client.shutdown().catch(() => undefined);
  internals.createTelemetryStream = () => Object.assign(new EventEmitter(), { write() {}, end() {} });
}

/** Sends `count` small messages ("m0", "m1", ...) to `topic` with a fresh official producer, one after another. */
export async function sendWithOfficialClient(endpoints: string, topic: string, count: number): Promise<void> {
  const producer = await startOfficialProducer(endpoints);
  try {
    for (let i = 0; i < count; i++) await producer.send({ topic, body: Buffer.from(`m${i}`) });
  } finally {
    await producer.shutdown();
  }
}

export interface OfficialSimpleConsumerOptions {
  /** Tag expression of the subscription; '*' by default. */
  tag?: string;
  /** How long one receive long-polls; 1 s by default. */
  awaitDurationMs?: number;
}

/** An official SimpleConsumer of `group` on `topic`, not started yet. */
export function officialSimpleConsumer(endpoints: string, group: string, topic: string, options: OfficialSimpleConsumerOptions = {}): SimpleConsumer {
  return new SimpleConsumer({
    endpoints, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, options.tag ?? '*']]), awaitDuration: options.awaitDurationMs ?? 1_000, logger: quietClientLogger,
  });
}

/** An official SimpleConsumer of `group` on every tag of `topic`, started. */
export async function startOfficialSimpleConsumer(endpoints: string, group: string, topic: string, awaitDurationMs = 2_000): Promise<SimpleConsumer> {
  const consumer = officialSimpleConsumer(endpoints, group, topic, { awaitDurationMs });
  await consumer.startup();
  return consumer;
}

/** An official PushConsumer of `group` on every tag of `topic` whose listener is `consume`, not started yet. */
export function officialPushConsumer(endpoints: string, group: string, topic: string, consume: (message: MessageView) => ConsumeResult): PushConsumer {
  return new PushConsumer({ endpoints, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), messageListener: { consume }, logger: quietClientLogger });
}

/**
 * Reads `count` messages from `group`'s dead-letter topic (`%DLQ%<group>`) with a SimpleConsumer of
 * its own ('dlq-reader'), acks them and returns them; fails when they are not there within `timeoutMs`.
 */
export async function readDeadLetters(endpoints: string, group: string, count = 1, timeoutMs = 15_000): Promise<MessageView[]> {
  const reader = officialSimpleConsumer(endpoints, 'dlq-reader', `%DLQ%${group}`);
  await reader.startup();
  try {
    const dead: MessageView[] = [];
    await eventually(async () => {
      for (const message of await reader.receive(count - dead.length, 30_000)) {
        dead.push(message);
        await reader.ack(message);
      }
      if (dead.length < count) throw new Error(`${dead.length} of ${count} messages in %DLQ%${group} so far`);
    }, { timeoutMs });
    return dead;
  } finally {
    await reader.shutdown();
  }
}

/** apache.rocketmq.v2.TransactionResolution, as a transaction checker returns it. */
const RESOLUTION = { UNKNOWN: 0, COMMIT: 1, ROLLBACK: 2 } as const;

/**
 * An official producer of `topics` whose transaction checker answers what the checked message's
 * `answer` property says ('commit', 'rollback', anything else: unknown) and tells `onCheck`; started.
 */
export async function startOfficialCheckedProducer(endpoints: string, topics: string[], onCheck: (message: MessageView) => void): Promise<Producer> {
  const producer = new Producer({
    endpoints, namespace: '', logger: quietClientLogger, topic: topics,
    checker: {
      async check(message: MessageView) {
        onCheck(message);
        const answer = message.properties.get('answer');
        return (answer === 'commit' ? RESOLUTION.COMMIT : answer === 'rollback' ? RESOLUTION.ROLLBACK : RESOLUTION.UNKNOWN) as never;
      },
    },
  });
  await producer.startup();
  return producer;
}
