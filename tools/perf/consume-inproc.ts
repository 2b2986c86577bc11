// The consume path in one process, without gRPC: a store (async flush) filled with 1 KiB messages
// over eight queues, then consumers that receive a batch and ack it in one ackAll (as peerbench's
// rocketmq-raw does with AckMessage calls), each round with a new group reading the same messages.
// The broker's consumer service, state journal and store are the real ones; the delivery frames are
// not encoded (apps/broker's work). Prints the process's CPU µs per message consumed (receive and
// ack together), per round. For iterating on the consumer's per-message work: compare two builds
// by running each, alternating. Usage:
//   node tools/run-ts.mjs tools/perf/consume-inproc.ts [--count 48000] [--batch 1000] [--consumers 4] [--rounds 5] [--dir /dev/shm]
// PROFILE=<file.cpuprofile>: a CPU profile of the measured rounds (cpu-profile-summary.mjs <file>).
// HEAP_SAMPLE=<file.heapprofile>: the allocations of the measured rounds, collected ones included
// (heap-profile-summary.mjs <file> --per <count × rounds>).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { ConsumerService, openBrokerState, parseTagExpression, ProducerService, type OutgoingMessage } from '@rmq/messaging';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const BODY = Buffer.alloc(1024, 0x61);

function message(i: number): OutgoingMessage {
  return { topic: 'Bench', body: BODY, messageId: `m${i}`, messageType: 'NORMAL', keys: [], bornTimestampMs: 0, bornHost: 'bench', userProperties: new Map() };
}

async function main(): Promise<void> {
  const count = Number(arg('--count', '48000'));
  const batch = Number(arg('--batch', '1000'));
  const consumers = Number(arg('--consumers', '4'));
  const rounds = Number(arg('--rounds', '5'));
  const dir = mkdtempSync(join(arg('--dir', existsSync('/dev/shm') ? '/dev/shm' : tmpdir()), 'rmq-consume-inproc-'));
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: 'async' });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  await state.topics.create('Bench', { queueCount: 8 });
  const secret = state.receiptKey.value;
  const consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock: systemClock, secret: () => secret });
  const producer = new ProducerService(store, state.topics);
  for (let from = 0; from < count; from += 256) await producer.send(Array.from({ length: Math.min(256, count - from) }, (_, i) => message(from + i)));
  const filter = parseTagExpression('*');
  const consume = async (group: string): Promise<void> => {
    let received = 0;
    await Promise.all(Array.from({ length: consumers }, async () => {
      while (received < count) {
        const deliveries = await consumer.receive({ group, topic: 'Bench', filter, countMax: batch, invisibleMs: 60_000, longPollingMs: 0 });
        if (deliveries.length === 0) break;
        received += deliveries.length;
        const errors = await consumer.ackAll(group, 'Bench', deliveries.map((delivery) => delivery.receiptHandle));
        if (errors) throw new Error(`acks failed: ${String(errors.find((error) => error !== undefined))}`);
      }
    }));
    if (received !== count) throw new Error(`received ${received} of ${count}`);
  };
  await consume('warm-up');
  const session = process.env.PROFILE || process.env.HEAP_SAMPLE ? new Session() : undefined;
  const post = (method: string, params: object = {}) => new Promise<any>((resolve, reject) => session!.post(method, params, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
  session?.connect();
  if (process.env.PROFILE) {
    await post('Profiler.enable');
    await post('Profiler.start');
  }
  if (process.env.HEAP_SAMPLE) await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const figures: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const cpu = process.cpuUsage();
    const startedMs = performance.now();
    await consume(`g${round}`);
    const used = process.cpuUsage(cpu);
    figures.push(`${((used.user + used.system) / count).toFixed(2)} µs (${Math.round(count / (performance.now() - startedMs) * 1000)} msg/s)`);
  }
  if (process.env.PROFILE) writeFileSync(process.env.PROFILE, JSON.stringify((await post('Profiler.stop')).profile));
  if (process.env.HEAP_SAMPLE) writeFileSync(process.env.HEAP_SAMPLE, JSON.stringify((await post('HeapProfiler.stopSampling')).profile));
  console.log(`batch ${batch}, ${consumers} consumers, ${count} msgs per round, CPU per message consumed: ${figures.join(' / ')}`);
  consumer.close();
  await state.journal.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
