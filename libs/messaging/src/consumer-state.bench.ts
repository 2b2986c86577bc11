// Consumer-state benchmark (`npm run bench:acks`): how many acks per second the broker makes
// durable when every ack is a state record in the commit log, in `sync` mode (fdatasync before
// the answer), with 8 consumers receiving and acking in batches; and what acking costs a producer
// running at the same time, as a ratio to the same producer alone, measured in the same run.
// In process (store, state journal, consumer service): the gRPC layer is measured elsewhere.
// Options: --messages <count> (default 200000), --dir <folder> (default: the OS temp folder).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { openBrokerState, type BrokerState } from './broker-state';
import { ConsumerService } from './consumer-service';
import { ProducerService } from './producer-service';
import type { OutgoingMessage } from './message-properties';
import { parseTagExpression } from './tag-filter';

const CONSUMERS = 8;
const RECEIVE_BATCH = 256;
const SEND_BATCH = 256;
const BODY = Buffer.alloc(1024, 0x61);

function parseOptions(argv: string[]): { messages: number; dir: string } {
  const options = { messages: 200_000, dir: tmpdir() };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--messages') options.messages = Number(argv[i + 1]);
    else if (argv[i] === '--dir') options.dir = argv[i + 1];
    else throw new Error(`unknown option ${argv[i]} (known: --messages, --dir)`);
  }
  if (!(options.messages > 0)) throw new Error('--messages needs a positive count');
  return options;
}

interface Broker {
  store: MessageStore;
  state: BrokerState;
  producer: ProducerService;
  consumer: ConsumerService;
  close(): Promise<void>;
}

async function openBroker(dir: string): Promise<Broker> {
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: 'sync' });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: true, consumeType: 'clustering', consumeEnabled: true }),
  });
  await state.topics.create('Bench', { queueCount: 8 });
  const secret = state.receiptKey.value;
  const consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock: systemClock, secret: () => secret });
  return {
    store, state, consumer, producer: new ProducerService(store, state.topics),
    close: async () => {
      consumer.close();
      await state.journal.close();
      await store.close();
    },
  };
}

function message(i: number): OutgoingMessage {
  return { topic: 'Bench', body: BODY, messageId: `m${i}`, messageType: 'NORMAL', keys: [], bornTimestampMs: 0, bornHost: 'bench', userProperties: new Map() };
}

/** Rate per second and CPU microseconds (this process, user + system) per item of `run`. */
async function measure(count: number, run: () => Promise<void>): Promise<{ rate: number; cpuMicros: number }> {
  const startedMs = performance.now();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return { rate: count / ((performance.now() - startedMs) / 1000), cpuMicros: (used.user + used.system) / count };
}

/** Sends `count` messages in batches, 4 batches in flight. */
async function produce(broker: Broker, count: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < count) {
      const from = next;
      next = Math.min(count, next + SEND_BATCH);
      await broker.producer.send(Array.from({ length: next - from }, (_, i) => message(from + i)));
    }
  }));
}

/** 8 consumers receive until they hold `count` deliveries; returns their receipt handles. */
async function receiveAll(broker: Broker, count: number, group: string): Promise<string[]> {
  const handles: string[] = [];
  const filter = parseTagExpression('*');
  await Promise.all(Array.from({ length: CONSUMERS }, async () => {
    while (handles.length < count) {
      const batch = await broker.consumer.receive({ group, topic: 'Bench', filter, countMax: RECEIVE_BATCH, invisibleMs: 600_000, longPollingMs: 200 });
      handles.push(...batch.map((delivery) => delivery.receiptHandle));
    }
  }));
  return handles;
}

/** 8 consumers ack `handles` in batches (one ackAll each, as an AckMessage); each ack awaits durability, a batch is one state record. */
async function ackAll(broker: Broker, handles: string[], group: string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONSUMERS }, async () => {
    while (next < handles.length) {
      const batch = handles.slice(next, next + RECEIVE_BATCH);
      next += batch.length;
      await broker.consumer.ackAll(group, 'Bench', batch);
    }
  }));
}

/** 8 consumers receive and ack until `count` acks were answered. */
async function consumeAndAck(broker: Broker, count: number, group: string): Promise<void> {
  let acked = 0;
  const filter = parseTagExpression('*');
  await Promise.all(Array.from({ length: CONSUMERS }, async () => {
    while (acked < count) {
      const batch = await broker.consumer.receive({ group, topic: 'Bench', filter, countMax: RECEIVE_BATCH, invisibleMs: 60_000, longPollingMs: 200 });
      // One batch of acks (one AckMessage): every ack awaits durability; together they are one state record.
      await broker.consumer.ackAll(group, 'Bench', batch.map((delivery) => delivery.receiptHandle));
      acked += batch.length;
    }
  }));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(options.dir, 'rmq-acks-bench-'));
  try {
    const broker = await openBroker(dir);
    const half = Math.floor(options.messages / 2);
    const produceAlone = await measure(half, () => produce(broker, half));
    let handles: string[] = [];
    const receiveOnly = await measure(half, async () => void (handles = await receiveAll(broker, half, 'g0')));
    const acksOnly = await measure(handles.length, () => ackAll(broker, handles, 'g0'));
    const acksAlone = await measure(half, () => consumeAndAck(broker, half, 'g1'));
    // Both at once: a producer of the second half while group g2 acks the first half.
    const [produceWithAcks, acksWithProduce] = await Promise.all([
      measure(options.messages - half, () => produce(broker, options.messages - half)),
      measure(half, () => consumeAndAck(broker, half, 'g2')),
    ]);
    const stateRecords = broker.store.queueRange('%SYS%STATE', 0).maxQueueOffset;
    await broker.close();
    const figure = (m: { rate: number; cpuMicros: number }, unit: string) => `${Math.round(m.rate).toLocaleString('en')} ${unit}/s, ${m.cpuMicros.toFixed(1)} µs CPU each`;
    const rows: [string, string][] = [
      ['produce alone (sync, 1 KiB, 256 per call)', figure(produceAlone, 'msg')],
      [`receive only (sync, ${CONSUMERS} consumers, batches of ${RECEIVE_BATCH})`, figure(receiveOnly, 'msg')],
      [`acks only (sync, ${CONSUMERS} consumers, batches of ${RECEIVE_BATCH})`, `${figure(acksOnly, 'acks')} (target >= 100,000 acks/s)`],
      [`receive + ack alone (sync, ${CONSUMERS} consumers, batches of ${RECEIVE_BATCH})`, figure(acksAlone, 'acks')],
      ['produce while another group acks', `${figure(produceWithAcks, 'msg')} (${((produceWithAcks.rate / produceAlone.rate) * 100).toFixed(0)}% of alone)`],
      ['receive + ack while producing', figure(acksWithProduce, 'acks') + ' (CPU of both, per ack)'],
      ['state records written (all phases)', stateRecords.toLocaleString('en')],
    ];
    for (const [what, figure] of rows) console.log(`${what.padEnd(60)} ${figure}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
