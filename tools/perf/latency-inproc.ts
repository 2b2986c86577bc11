// peerbench's latency test in one process, without gRPC: what our store and messaging keep alive per message
// (what a scavenge promotes) apart from grpc-js and HTTP/2. The store on disk (`sync`, the message index on, as
// the broker opens it), the broker state, producer and consumer services; every millisecond tick one send of
// the messages due at --rate (1 KiB bodies stamped with the send time, fresh message ids), 4 receives in a
// loop over the topic's 8 queues (batch 1,000, long poll 10 s, invisible 30 s), each followed by one ackAll
// of what it got, as peerbench's rocketmq-raw does. The harness keeps nothing per message. Prints e2e p50/p99
// (in process), scavenges and mark-compacts, and with --trace-gc-nvp on node the promoted bytes can be read
// per scavenge; with tools/perf/heap-sample-preload.cjs (HEAP_SAMPLE_KEEP=survivors) who promotes them.
// Usage: node tools/run-ts.mjs --bundle-only tools/perf/latency-inproc.ts, then
//   node [--trace-gc-nvp] [--require tools/perf/heap-sample-preload.cjs] <bundle> [--rate 2000] [--seconds 10] [--dir D]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { ConsumerService, openBrokerState, ProducerService, SYSTEM_PROPERTY, parseTagExpression, type OutgoingMessage } from '@rmq/messaging';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const rate = Number(arg('--rate', '2000'));
  const seconds = Number(arg('--seconds', '10'));
  const dir = mkdtempSync(join(arg('--dir', tmpdir()), 'rmq-latency-inproc-'));
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: 'sync', indexedProperties: { messageId: SYSTEM_PROPERTY.messageId, keys: SYSTEM_PROPERTY.keys } });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  const queueCount = 8;
  await state.topics.create('Latency', { queueCount });
  const secret = state.receiptKey.value;
  const consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock: systemClock, secret: () => secret });
  const producer = new ProducerService(store, state.topics);
  const gc = { scavenges: 0, markCompacts: 0, pauseMs: [] as number[] };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === 1) gc.scavenges++;
      if (kind === 4) gc.markCompacts++;
      gc.pauseMs.push(entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });

  // Latencies in a preallocated array: the harness keeps nothing per message.
  const total = Math.round(rate * seconds);
  const e2e = new Float64Array(total);
  let received = 0;
  let sent = 0;
  let running = true;
  const filter = parseTagExpression('*');
  const receiving = Array.from({ length: 4 }, async (_, k) => {
    for (let n = k; running; n++) {
      const batch = await consumer.receive({ group: 'g', topic: 'Latency', filter, countMax: 1000, invisibleMs: 30_000, longPollingMs: 10_000, queueId: n % queueCount });
      const nowMs = performance.now();
      const handles: string[] = [];
      for (const delivery of batch) {
        if (received < total) e2e[received++] = nowMs - delivery.record.body.readDoubleLE(0);
        handles.push(delivery.receiptHandle);
      }
      if (handles.length > 0) void consumer.ackAll('g', 'Latency', handles).catch(() => undefined);
      if (received >= total) running = false;
    }
  });
  const template = Buffer.alloc(1024, 7);
  const startedMs = performance.now();
  let sends = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedMs) / 1000) * rate));
    if (due > sent) {
      const messages: OutgoingMessage[] = [];
      for (; sent < due; sent++) {
        const body = Buffer.from(template);
        body.writeDoubleLE(performance.now(), 0);
        messages.push({ topic: 'Latency', body, messageId: `01${process.pid.toString(16)}${sent.toString(16).padStart(12, '0')}`, messageType: 'NORMAL', keys: [], bornTimestampMs: Date.now(), bornHost: '127.0.0.1', userProperties: new Map() });
      }
      sends++;
      void producer.send(messages).then(() => sends--, (error: unknown) => console.error('send failed', error));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const deadlineMs = performance.now() + 15_000;
  while ((received < total || sends > 0) && performance.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 5));
  running = false;
  consumer.close();
  await Promise.race([Promise.allSettled(receiving), new Promise((resolve) => setTimeout(resolve, 100))]);
  const sorted = e2e.subarray(0, received).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(2);
  const pauses = Float64Array.from(gc.pauseMs).sort();
  console.log(`sent ${sent} received ${received} | e2e p50 ${at(50)} p99 ${at(99)} ms | scavenges ${gc.scavenges}, mark-compacts ${gc.markCompacts}, GC pause p50 ${pauses[Math.floor(pauses.length / 2)]?.toFixed(2)} max ${pauses[pauses.length - 1]?.toFixed(2)} ms`);
  await state.journal.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
