// The official rocketmq-client-nodejs as tests and benchmarks use it: silent, and a producer
// started in one call.
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';

/** A logger for the official client that prints nothing (by default it writes to the console and ~/logs). */
export const quietClientLogger = { info() {}, warn() {}, error() {}, debug() {} } as never;

/** An official producer connected to `endpoints`, started (its settings handshake done). */
export async function startOfficialProducer(endpoints: string): Promise<Producer> {
  const producer = new Producer({ endpoints, namespace: '', logger: quietClientLogger });
  await producer.startup();
  return producer;
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

/** An official SimpleConsumer of `group` on every tag of `topic`, started. */
export async function startOfficialSimpleConsumer(endpoints: string, group: string, topic: string, awaitDurationMs = 2_000): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({ endpoints, namespace: '', consumerGroup: group, subscriptions: new Map([[topic, '*']]), awaitDuration: awaitDurationMs, logger: quietClientLogger });
  await consumer.startup();
  return consumer;
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
