// Benchmark of delay and transactional messages (`npm run bench:model`), real processes on this
// machine, every figure beside a baseline from the same run:
//   1. memory: one broker holding --pending (1,000,000) delay messages due in an hour, against an
//      empty broker and against one that stored as many plain messages (resident set size);
//   2. precision: --due-count (100,000) delay messages falling due at --due-rate (10,000/s);
//      lateness = when the broker stored the delivery minus the delivery time, read back by pull;
//   3. transactions: the official client's send + commit against its plain sends.
import { readFileSync } from 'node:fs';
import { admin, createClient, durationFromMs, namesrv, v2 } from '@rmq/contracts';
import { delay } from '@rmq/base';
import { killAllApps, makeTempDir, quietClientLogger, sampleValue, startApp, type AppProcess, scrapeMetrics } from '@rmq/testing';
import { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import { Producer } from './index';

const BODY = Buffer.alloc(100, 0x61);
const WINDOW = 2_000;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive whole number`);
  return value;
}

const format = (value: number) => Math.round(value).toLocaleString('en-US');

function rssMib(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

interface Broker {
  process: AppProcess;
  endpoint: string;
}

const temps: { remove(): void }[] = [];

async function startBroker(nameServer: string, label: string, extra: string[] = []): Promise<Broker> {
  const temp = makeTempDir(`bench-model-${label}`);
  temps.push(temp);
  const process = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', temp.path, '--name-servers', nameServer, ...extra], { label });
  return { process, endpoint: process.endpoints.grpc };
}

async function createTopic(endpoint: string, name: string, messageType: namesrv.TopicMessageType, queueCount = 8): Promise<void> {
  const client = createClient(admin.AdminService, endpoint);
  try {
    await client.createTopic({ name, queueCount, messageType }, { deadlineMs: 5_000 });
  } finally {
    client.close();
  }
}

async function produce(count: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) await Promise.all(Array.from({ length: Math.min(WINDOW, count - sent) }, (_, i) => send(sent + i)));
  return count / ((performance.now() - startedMs) / 1000);
}

async function memory(nameServer: string, pending: number): Promise<void> {
  const empty = await startBroker(nameServer, 'empty');
  const delayed = await startBroker(nameServer, 'delayed');
  const plain = await startBroker(nameServer, 'plain');
  await createTopic(delayed.endpoint, 'Later', namesrv.TopicMessageType.DELAY);
  await createTopic(plain.endpoint, 'Now', namesrv.TopicMessageType.NORMAL);
  const dueMs = Date.now() + 60 * 60 * 1000;
  const delayedProducer = Producer.start({ endpoints: delayed.endpoint });
  const delayedRate = await produce(pending, (i) => delayedProducer.send({ topic: 'Later', body: BODY, deliveryTimestampMs: dueMs + (i % 3_600) * 1000 }));
  await delayedProducer.close();
  const plainProducer = Producer.start({ endpoints: plain.endpoint });
  const plainRate = await produce(pending, () => plainProducer.send({ topic: 'Now', body: BODY }));
  await plainProducer.close();
  await delay(5_000); // let each broker's heap settle after the load
  const [emptyMib, delayedMib, plainMib] = [empty, delayed, plain].map((broker) => rssMib(broker.process.pid));
  const stats = await metricsOf(delayed.process, 'rocketmq_timer_pending_messages');
  console.log(`memory: ${format(pending)} pending delay messages (100-byte bodies, due over an hour from now)`);
  console.log(`  sent at ${format(delayedRate)} msg/s (plain sends of the same messages: ${format(plainRate)} msg/s, ratio ${(delayedRate / plainRate).toFixed(2)})`);
  console.log(`  broker RSS: empty ${emptyMib.toFixed(0)} MiB, ${format(pending)} pending delay ${delayedMib.toFixed(0)} MiB (+${(delayedMib - emptyMib).toFixed(0)} MiB, ${(((delayedMib - emptyMib) * 1024 * 1024) / pending).toFixed(0)} bytes each), ${format(pending)} plain stored ${plainMib.toFixed(0)} MiB (+${(plainMib - emptyMib).toFixed(0)} MiB)`);
  console.log(`  timer gauges: ${stats}`);
  for (const broker of [empty, delayed, plain]) await broker.process.kill('SIGTERM');
}

async function metricsOf(app: AppProcess, name: string): Promise<string> {
  return (await scrapeMetrics(app)).split('\n').filter((line) => line.startsWith(name)).join('; ');
}

async function precision(nameServer: string, dueCount: number, dueRate: number, flushMode: string): Promise<void> {
  const broker = await startBroker(nameServer, `precision-${flushMode}`, ['--flush-mode', flushMode]);
  await createTopic(broker.endpoint, 'Due', namesrv.TopicMessageType.DELAY);
  await createTopic(broker.endpoint, 'Warm', namesrv.TopicMessageType.NORMAL);
  const producer = Producer.start({ endpoints: broker.endpoint });
  // Due times start after the sends are surely done (at the send rate measured now, with room
  // to spare), then come at dueRate per second.
  const sendRate = await produce(Math.min(dueCount, 10_000), () => producer.send({ topic: 'Warm', body: BODY }));
  const firstDueMs = Math.round(Date.now() + 3_000 + ((2 * dueCount) / sendRate) * 1000);
  await produce(dueCount, (i) => producer.send({ topic: 'Due', body: BODY, deliveryTimestampMs: firstDueMs + Math.floor((i * 1000) / dueRate) }));
  await producer.close();
  const lastDueMs = firstDueMs + (dueCount * 1000) / dueRate;
  if (Date.now() > firstDueMs) console.log(`  (warning: sending took longer than planned; the first messages were due before all were sent)`);
  await delay(Math.max(0, firstDueMs - Date.now() - 500));
  const before = await scrapeMetrics(broker.process); // also restarts the event-loop delay histogram
  await delay(Math.max(0, lastDueMs - Date.now()) + 3_000);
  const after = await scrapeMetrics(broker.process);
  const lateness = await latenessByPull(broker.endpoint, 'Due', 8);
  lateness.sort((a, b) => a - b);
  const at = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))];
  console.log(`precision: ${format(dueCount)} delay messages due at ${format(dueRate)}/s (${flushMode} flush): ${format(lateness.length)} delivered, none early: ${lateness[0] >= 0}`);
  console.log(`  lateness (store time of the delivery - delivery time): p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${lateness[lateness.length - 1]} ms`);
  // The broker's view of the due window: visible (committed) within 100 ms, its fdatasyncs, and how long its event loop stood still.
  const delta = (name: string, labels: Record<string, string> = {}) => (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
  const visible = delta('rocketmq_timer_lateness_ms_count');
  const syncs = delta('rmq_store_fsync_latency_ms_count');
  console.log(`  broker: ${((delta('rocketmq_timer_lateness_ms_bucket', { le: '100' }) / visible) * 100).toFixed(1)}% visible (committed) within 100 ms; ` +
    `${format(syncs)} fdatasyncs, mean ${(delta('rmq_store_fsync_latency_ms_sum') / syncs).toFixed(0)} ms, ${format(syncs - delta('rmq_store_fsync_latency_ms_bucket', { le: '250' }))} over 250 ms; ` +
    `event loop delay p99 ${((sampleValue(after, 'nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000).toFixed(0)} ms, max ${((sampleValue(after, 'nodejs_eventloop_lag_max_seconds') ?? 0) * 1000).toFixed(0)} ms; ` +
    `load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await broker.process.kill('SIGTERM');
}

async function latenessByPull(endpoint: string, topic: string, queueCount: number): Promise<number[]> {
  const client = createClient(v2.MessagingService, endpoint);
  const lateness: number[] = [];
  try {
    for (let queueId = 0; queueId < queueCount; queueId++) {
      for (let offset = 0n; ; ) {
        let next = offset;
        let got = 0;
        const request = { group: { name: 'bench' }, messageQueue: { topic: { name: topic }, id: queueId }, offset, batchSize: 1000, filterExpression: { type: v2.FilterType.TAG, expression: '*' }, longPollingTimeout: durationFromMs(0) };
        for await (const reply of client.pullMessage(request, { deadlineMs: 30_000 })) {
          if (reply.content.case === 'nextOffset') next = reply.content.value;
          if (reply.content.case !== 'message') continue;
          const system = reply.content.value.systemProperties!;
          lateness.push(toMs(system.storeTimestamp!) - toMs(system.deliveryTimestamp!));
          got++;
        }
        if (got === 0) break;
        offset = next;
      }
    }
  } finally {
    client.close();
  }
  return lateness;
}

function toMs(timestamp: { seconds: bigint; nanos: number }): number {
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1e6);
}

async function transactions(nameServer: string, count: number): Promise<void> {
  const broker = await startBroker(nameServer, 'transactions');
  await createTopic(broker.endpoint, 'Plain', namesrv.TopicMessageType.NORMAL);
  await createTopic(broker.endpoint, 'Tx', namesrv.TopicMessageType.TRANSACTION);
  const producer = new OfficialProducer({ endpoints: broker.endpoint, namespace: '', logger: quietClientLogger, topic: ['Plain', 'Tx'], checker: { check: async () => 1 as never } });
  await producer.startup();
  const window = 200;
  const run = async (send: () => Promise<unknown>) => {
    const startedMs = performance.now();
    for (let sent = 0; sent < count; sent += window) await Promise.all(Array.from({ length: Math.min(window, count - sent) }, send));
    return count / ((performance.now() - startedMs) / 1000);
  };
  await run(() => producer.send({ topic: 'Plain', body: BODY })); // warm-up
  const plainRate = await run(() => producer.send({ topic: 'Plain', body: BODY }));
  const txRate = await run(async () => {
    const transaction = producer.beginTransaction();
    await producer.send({ topic: 'Tx', body: BODY }, transaction);
    await transaction.commit();
  });
  await producer.shutdown().catch(() => undefined);
  console.log(`transactions (official client, ${window} in flight, sync flush): plain sends ${format(plainRate)} msg/s, send + commit ${format(txRate)} msg/s, ratio ${(txRate / plainRate).toFixed(2)}`);
  await broker.process.kill('SIGTERM');
}

async function main(): Promise<void> {
  const pending = option('--pending', 1_000_000);
  const dueCount = option('--due-count', 100_000);
  const dueRate = option('--due-rate', 10_000);
  const txCount = option('--tx-count', 5_000);
  console.log(`delay and transaction benchmark: brokers, client and name server share this machine (${readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length} cores)`);
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  try {
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
    const flushModes = process.argv.includes('--flush-mode') ? [process.argv[process.argv.indexOf('--flush-mode') + 1]] : ['sync', 'async'];
    if (!only || only === 'precision') for (const flushMode of flushModes) await precision(nameServer.endpoints.grpc, dueCount, dueRate, flushMode);
    if (!only || only === 'transactions') await transactions(nameServer.endpoints.grpc, txCount);
    if (!only || only === 'memory') await memory(nameServer.endpoints.grpc, pending);
  } finally {
    await killAllApps();
    for (const temp of temps) temp.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
