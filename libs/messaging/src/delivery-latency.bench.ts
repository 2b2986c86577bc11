// Delivery latency benchmark (`npm run bench:delivery-latency`): how long a message sent at a
// steady rate takes to reach a waiting consumer, in process (store on disk in `sync` mode, state
// journal, consumer service; no gRPC), with a receive answered once its delivery records are
// written (this code) against the baseline of the same code answering once they are durable
// (what the broker did before wave 4: one more group commit in every message's path), and of the
// same code with delivery records flushed at the event loop's check phase like every other
// change (before wave 6: `turn`) instead of at the end of the current microtask queue. Rounds
// alternate between the three, each on a fresh store; prints p50/p99 of send-to-delivery and
// send-to-answer and the ratios. Options: --rate <msg/s> (default 2000), --seconds <per round> (default 5),
// --rounds <count> (default 2), --dir <folder> (default: the OS temp folder).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { openBrokerState } from './broker-state';
import { ConsumerService } from './consumer-service';
import { ProducerService } from './producer-service';
import { parseTagExpression } from './tag-filter';
import type { RecordStage } from './state/state-journal';

type Mode = 'written' | 'durable' | 'turn';

function parseOptions(argv: string[]): { rate: number; seconds: number; rounds: number; dir: string } {
  const options = { rate: 2000, seconds: 5, rounds: 2, dir: tmpdir() };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (argv[i] === '--rate') options.rate = Number(value);
    else if (argv[i] === '--seconds') options.seconds = Number(value);
    else if (argv[i] === '--rounds') options.rounds = Number(value);
    else if (argv[i] === '--dir') options.dir = value;
    else throw new Error(`unknown option ${argv[i]} (known: --rate, --seconds, --rounds, --dir)`);
  }
  if (!(options.rate > 0 && options.rate <= 50_000)) throw new Error('--rate needs 1 to 50000 messages per second');
  if (!(options.seconds > 0 && options.seconds <= 600)) throw new Error('--seconds needs 1 to 600');
  if (!(options.rounds >= 1 && options.rounds <= 20)) throw new Error('--rounds needs 1 to 20');
  return options;
}

interface Round {
  delivered: number[];
  sendAnswered: number[];
}

/** One round: a fresh store, a consumer long-polling, a producer at `rate`; latencies in ms. */
async function runRound(mode: Mode, rate: number, seconds: number, parent: string): Promise<Round> {
  const dir = mkdtempSync(join(parent, 'rmq-delivery-latency-'));
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: 'sync' });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 16, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  if (mode === 'durable') {
    // The baseline: every journal write answered once durable, deliveries included.
    const record = state.journal.record.bind(state.journal);
    state.journal.record = (section: string, change: unknown, _stage?: RecordStage) => record(section, change, 'durable');
    const endBinary = state.journal.endBinary.bind(state.journal);
    state.journal.endBinary = (_stage?: RecordStage) => endBinary('durable'); // deliveries are binary changes
  }
  if (mode === 'turn') {
    // The wave 5 journal: a record with deliveries waits for setImmediate like any other.
    Object.defineProperty(state.journal, 'pendingWaitsWritten', { get: () => false, set: () => undefined });
  }
  await state.topics.create('Latency', { queueCount: 8 });
  const secret = state.receiptKey.value;
  const consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock: systemClock, secret: () => secret });
  const producer = new ProducerService(store, state.topics);
  const sentAt = new Map<string, number>();
  const result: Round = { delivered: [], sendAnswered: [] };
  const total = Math.round(rate * seconds);
  const filter = parseTagExpression('*');
  let received = 0;
  const deadlineMs = performance.now() + seconds * 1000 + 10_000;
  // Two consumers, each a long poll at a time, acking in the background as clients do.
  const consuming = Promise.all(Array.from({ length: 2 }, async () => {
    while (received < total && performance.now() < deadlineMs) {
      const batch = await consumer.receive({ group: 'g', topic: 'Latency', filter, countMax: 32, invisibleMs: 60_000, longPollingMs: 1_000 });
      const nowMs = performance.now();
      for (const delivery of batch) {
        const at = sentAt.get(delivery.record.body.toString());
        if (at !== undefined) result.delivered.push(nowMs - at);
        void consumer.ack('g', 'Latency', delivery.receiptHandle).catch(() => undefined);
      }
      received += batch.length;
    }
  }));
  // Paced: every millisecond tick sends what the rate says is due by then.
  const startedMs = performance.now();
  let sent = 0;
  const sends: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedMs) / 1000) * rate));
    for (; sent < due; sent++) {
      const id = `m${sent}`;
      const at = performance.now();
      sentAt.set(id, at);
      sends.push(producer.send([{ topic: 'Latency', body: Buffer.from(id), messageId: id, messageType: 'NORMAL', keys: [], bornTimestampMs: 0, bornHost: 'bench', userProperties: new Map() }])
        .then(() => void result.sendAnswered.push(performance.now() - at)));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(sends);
  await consuming;
  consumer.close();
  await state.journal.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return result;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const all: Record<Mode, Round> = { written: { delivered: [], sendAnswered: [] }, durable: { delivered: [], sendAnswered: [] }, turn: { delivered: [], sendAnswered: [] } };
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of ['durable', 'turn', 'written'] as const) {
      const result = await runRound(mode, options.rate, options.seconds, options.dir);
      all[mode].delivered.push(...result.delivered);
      all[mode].sendAnswered.push(...result.sendAnswered);
      const ms = (values: number[], p: number) => percentile(values, p).toFixed(2);
      console.log(`round ${round} ${mode.padEnd(7)} delivered p50 ${ms(result.delivered, 50)} p99 ${ms(result.delivered, 99)} ms | send answered p50 ${ms(result.sendAnswered, 50)} p99 ${ms(result.sendAnswered, 99)} ms | ${result.delivered.length} delivered`);
    }
  }
  const ratio = (base: Mode, p: number) => (percentile(all.written.delivered, p) / percentile(all[base].delivered, p)).toFixed(2);
  console.log(`all rounds: send-to-delivery, receive answered once written / once durable: p50 ${ratio('durable', 50)}x, p99 ${ratio('durable', 99)}x`);
  console.log(`all rounds: send-to-delivery, delivery records flushed this microtask queue / at the check phase: p50 ${ratio('turn', 50)}x, p99 ${ratio('turn', 99)}x`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
