// What the failover tests run against a broker group while they break it: official-client
// producers sending one message after another (every send recorded with when it was issued and
// when it was acknowledged), a FIFO producer that sends each message group's messages in order
// (a failed send is sent again before the next), and consumers that record what they got. Every
// message body is unique, so a message is known by its body whatever the client retried.
import { delay } from '@rmq/base';
import { ConsumeResult, type MessageView, type Producer, type PushConsumer, type SimpleConsumer } from 'rocketmq-client-nodejs';
import { officialPushConsumer, officialSimpleConsumer, shutdownOfficialClient, startOfficialProducer } from '@rmq/testing';

export interface SendRecord {
  body: string;
  issuedAtMs: number;
  ackedAtMs?: number;
  /** The message group of a FIFO send, and its place in it. */
  messageGroup?: string;
  seq?: number;
}

export interface Workload {
  readonly sends: SendRecord[];
  /** Resolves once every loop has stopped (no send or receive is in flight any more). */
  stop(): Promise<void>;
}

export interface ProducerOptions {
  producers: number;
  /** Sends of all producers together, at most. */
  sendsMax: number;
  /** Pause between two sends of one producer: keeps the load a 2-core machine can carry beside the brokers. */
  paceMs: number;
}

/** Official producers sending to `topic` one message after another, each with its own body. */
export async function startProducers(accessPoint: string, topic: string, options: ProducerOptions): Promise<Workload> {
  const producers = await Promise.all(Array.from({ length: options.producers }, () => startOfficialProducer(accessPoint)));
  const sends: SendRecord[] = [];
  let stopping = false;
  const loops = producers.map(async (producer, index) => {
    for (let seq = 0; !stopping && sends.length < options.sendsMax; seq++) {
      const record: SendRecord = { body: `${topic}-${index}-${seq}`, issuedAtMs: Date.now() };
      sends.push(record);
      try {
        await producer.send({ topic, body: Buffer.from(record.body) });
        record.ackedAtMs = Date.now();
      } catch {
        // Not acknowledged: the test expects nothing of it.
      }
      await delay(options.paceMs);
    }
  });
  return { sends, stop: () => stopAll(() => (stopping = true), loops, producers) };
}

/**
 * One official producer sending messages of `groups` message groups to a FIFO topic, the groups
 * in turn; a message group's next message is sent only once the previous one was acknowledged
 * (a failed send is sent again, with the same body), as an application keeping order does.
 */
export async function startFifoProducer(accessPoint: string, topic: string, options: { groups: number; sendsMax: number; paceMs: number }): Promise<Workload> {
  const producer = await startOfficialProducer(accessPoint);
  const sends: SendRecord[] = [];
  let stopping = false;
  const loop = (async () => {
    const next = Array.from({ length: options.groups }, () => 0);
    for (let turn = 0; !stopping && sends.length < options.sendsMax; turn++) {
      const group = turn % options.groups;
      const messageGroup = `group-${group}`;
      const record: SendRecord = { body: `${topic}-${messageGroup}-${next[group]}`, issuedAtMs: Date.now(), messageGroup, seq: next[group] };
      sends.push(record);
      try {
        await producer.send({ topic, messageGroup, body: Buffer.from(record.body) });
        record.ackedAtMs = Date.now();
        next[group] += 1;
      } catch {
        // Sent again in this group's next turn.
      }
      await delay(options.paceMs);
    }
  })();
  return { sends, stop: () => stopAll(() => (stopping = true), [loop], [producer]) };
}

export interface Consumption {
  /** Each body consumed, with when it was first consumed. */
  readonly firstSeen: Map<string, number>;
  /** Every delivery in the order the listener saw them (FIFO checks). */
  readonly deliveries: string[];
  stop(): Promise<void>;
}

/** A SimpleConsumer receiving and acking in a loop (an ack that fails lets the message come back). */
export async function startSimpleConsuming(accessPoint: string, group: string, topic: string, invisibleMs: number): Promise<Consumption> {
  const consumer = officialSimpleConsumer(accessPoint, group, topic);
  await consumer.startup();
  const firstSeen = new Map<string, number>();
  const deliveries: string[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      let batch: MessageView[] = [];
      try {
        batch = await consumer.receive(32, invisibleMs);
      } catch {
        await delay(100); // a dead endpoint fails at once: do not spin
      }
      for (const message of batch) {
        const body = message.body.toString();
        deliveries.push(body);
        if (!firstSeen.has(body)) firstSeen.set(body, Date.now());
      }
      // Acked together (each ack waits for an fdatasync): one at a time the consumer falls behind the producers.
      await Promise.all(batch.map((message) => consumer.ack(message).catch(() => undefined)));
    }
  })();
  return { firstSeen, deliveries, stop: () => stopAll(() => (stopping = true), [loop], [consumer]) };
}

/** A PushConsumer whose listener records every message and consumes it successfully. */
export async function startPushConsuming(accessPoint: string, group: string, topic: string): Promise<Consumption> {
  const firstSeen = new Map<string, number>();
  const deliveries: string[] = [];
  const consumer: PushConsumer = officialPushConsumer(accessPoint, group, topic, (message) => {
    const body = message.body.toString();
    deliveries.push(body);
    if (!firstSeen.has(body)) firstSeen.set(body, Date.now());
    return ConsumeResult.SUCCESS;
  });
  await consumer.startup();
  return { firstSeen, deliveries, stop: () => stopAll(() => undefined, [], [consumer]) };
}

async function stopAll(signal: () => void, loops: Promise<void>[], clients: (Producer | SimpleConsumer | PushConsumer)[]): Promise<void> {
  signal();
  await Promise.all(loops);
  await Promise.all(clients.map((client) => shutdownOfficialClient(client)));
}

/** Acknowledged sends whose body `consumed` lacks. */
export function missingFrom(sends: readonly SendRecord[], consumed: Consumption): string[] {
  return sends.filter((send) => send.ackedAtMs !== undefined && !consumed.firstSeen.has(send.body)).map((send) => send.body);
}

/**
 * FIFO order as consumed: per message group, each delivery of message n comes after at least one
 * delivery of every acknowledged message before n (a redelivery of an earlier one is allowed).
 * Returns the violations, described.
 */
export function fifoViolations(sends: readonly SendRecord[], deliveries: readonly string[]): string[] {
  const acked = new Map<string, Set<number>>();
  const byBody = new Map<string, SendRecord>();
  for (const send of sends) {
    byBody.set(send.body, send);
    if (send.ackedAtMs !== undefined) {
      const seqs = acked.get(send.messageGroup!) ?? new Set<number>();
      seqs.add(send.seq!);
      acked.set(send.messageGroup!, seqs);
    }
  }
  const seen = new Map<string, Set<number>>();
  const violations: string[] = [];
  for (const body of deliveries) {
    const send = byBody.get(body);
    if (!send) {
      violations.push(`delivered ${body}, which was never sent`);
      continue;
    }
    const group = send.messageGroup!;
    const seenInGroup = seen.get(group) ?? new Set<number>();
    for (const earlier of acked.get(group) ?? []) {
      if (earlier < send.seq! && !seenInGroup.has(earlier)) violations.push(`${group}: message ${send.seq} delivered before acknowledged message ${earlier}`);
    }
    seenInGroup.add(send.seq!);
    seen.set(group, seenInGroup);
  }
  return violations;
}

/** Nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
