// Consumers' progress through broker crashes: producers send and consumers receive, ack, change
// invisible durations and leave messages in flight while the broker (sync mode) is SIGKILLed at
// random points. After every restart: no message whose ack was answered OK is delivered again, no
// message comes back before the deadline its last answered call set, and at the end every message
// whose send was answered OK has been consumed. Bounded rounds; RMQ_LONG=1 runs many more.
import { Producer, SimpleConsumer, type ReceivedMessage } from '@rmq/client';
import { useLocalCluster } from './local-cluster';

const LONG = process.env.RMQ_LONG === '1';
const ROUNDS = LONG ? 30 : 4;
const SENDS_PER_ROUND = 150;
const INVISIBLE_MS = 2_000;
/** A changed deadline, far enough past INVISIBLE_MS that an early return is told apart. */
const CHANGED_INVISIBLE_MS = 5_000;
/** Slack for clocks and scheduling: a message may come back this much before its deadline. */
const EARLY_SLACK_MS = 50;
const DRAIN_TIMEOUT_MS = 40_000;

/** A small seeded generator, so a failing run can be repeated (the seed is printed). */
function randomOf(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

describe('consumer state through broker SIGKILLs (sync mode)', () => {
  const local = useLocalCluster({ brokerArgs: ['--flush-mode', 'sync', '--invisible-ms-min', '1000'], topics: ['ChaosTopic'], topicOptions: { queueCount: 4 } });

  it(`keeps every answered ack, deadline and send across ${ROUNDS} random kills`, async () => {
    const seed = Number(process.env.RMQ_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = randomOf(seed);
    console.log(`consumer-state chaos seed ${seed} (RMQ_CHAOS_SEED=${seed} repeats it)`);
    const sent = new Set<string>();
    const ackedOk = new Set<string>();
    /** Message id -> the earliest time it may be delivered again, per the last answered call. */
    const notBefore = new Map<string, number>();
    const violations: string[] = [];
    let deliveries = 0;
    /** Message id -> how many times it was delivered, to tell "never delivered" from "never acked" in a failure. */
    const deliveriesOf = new Map<string, number>();
    const ackUnanswered = new Set<string>();

    const producer = Producer.start({ endpoints: local.cluster.endpoint });
    const consumer = SimpleConsumer.start({ endpoints: local.cluster.endpoint, group: 'chaos-group', subscriptions: { ChaosTopic: '*' }, awaitMs: 300 });

    /** One received message: checked against what earlier answers promised, then acked, pushed back or left. */
    // `askedAtMs`: when the receive was sent (the broker's deadline is later than this plus the
    // invisible time); `answeredAtMs`: when it returned (the delivery happened before this).
    const handle = async (message: ReceivedMessage, askedAtMs: number, answeredAtMs: number) => {
      deliveries++;
      deliveriesOf.set(message.messageId, (deliveriesOf.get(message.messageId) ?? 0) + 1);
      if (ackedOk.has(message.messageId)) violations.push(`${message.messageId} delivered again after its ack was answered OK`);
      const earliest = notBefore.get(message.messageId);
      if (earliest !== undefined && answeredAtMs < earliest - EARLY_SLACK_MS) violations.push(`${message.messageId} delivered ${earliest - answeredAtMs} ms before its deadline`);
      const roll = random();
      const calledAtMs = Date.now();
      if (roll < 0.6) {
        await consumer.ack(message).then(() => ackedOk.add(message.messageId), () => ackUnanswered.add(message.messageId));
      } else if (roll < 0.8) {
        await consumer.changeInvisibleDuration(message, CHANGED_INVISIBLE_MS).then(() => notBefore.set(message.messageId, calledAtMs + CHANGED_INVISIBLE_MS), () => undefined);
      } else {
        notBefore.set(message.messageId, askedAtMs + INVISIBLE_MS); // left in flight (the receive was answered, so it is recorded)
      }
    };

    let running = true;
    const worker = async () => {
      while (running) {
        const askedAtMs = Date.now();
        const batch = await consumer.receive({ countMax: 16, invisibleMs: INVISIBLE_MS }).catch(() => [] as ReceivedMessage[]);
        const answeredAtMs = Date.now();
        for (const message of batch) await handle(message, askedAtMs, answeredAtMs);
        if (batch.length === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const workers = [worker(), worker()];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const sends = Array.from({ length: SENDS_PER_ROUND }, (_, i) =>
          producer.send({ topic: 'ChaosTopic', body: `r${round}-m${i}` }).then((receipt) => sent.add(receipt.messageId), () => undefined),
        );
        // Kill at a random point while sends, receives, acks and changes are in flight.
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 900));
        await local.cluster.restartBroker('SIGKILL');
        await Promise.all(sends);
      }
      // Drain: everything whose send was answered OK is consumed in the end (acked by us).
      const deadlineMs = Date.now() + DRAIN_TIMEOUT_MS;
      const consumedAll = async () => {
        const { queues } = await local.cluster.admin.getGroup({ name: 'chaos-group' }, { deadlineMs: 5_000 });
        return queues.every((queue) => queue.lag === 0n && queue.inflight === 0) && [...sent].every((id) => ackedOk.has(id) || ackUnanswered.has(id));
      };
      while (!(await consumedAll()) && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      running = false;
      await Promise.all(workers);
      await consumer.close();
      await producer.close();
    }
    // An ack whose answer was lost in a kill may have been made durable: such a message is done.
    const missing = [...sent].filter((id) => !ackedOk.has(id) && !ackUnanswered.has(id));
    const group = await local.cluster.admin.getGroup({ name: 'chaos-group' }, { deadlineMs: 5_000 });
    console.log(`consumer-state chaos: ${ROUNDS} kills, ${sent.size} sends answered OK, ${deliveries} deliveries, ${ackedOk.size} acks answered OK`);
    expect(violations).toEqual([]);
    const queueStates = group.queues.map((queue) => `queue ${queue.queueId}: committed ${queue.committedOffset} of ${queue.maxOffset}, in flight ${queue.inflight}`).join('; ');
    expect(missing.map((id) => `${id} delivered ${deliveriesOf.get(id) ?? 0} times (${queueStates})`)).toEqual([]);
    expect(group.queues.map((queue) => [queue.lag, queue.inflight])).toEqual(group.queues.map(() => [0n, 0]));
    expect(sent.size).toBeGreaterThan(0);
  }, LONG ? 600_000 : 120_000);
});
