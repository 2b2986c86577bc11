// The produce path in one process, without gRPC: SendMessageRequest bytes like peerbench's rocketmq-raw
// (256 × 1 KiB per request, message id, born timestamp and host, NORMAL) -> the hot-path decoder -> the
// broker's SendMessage handler (the real messagingService, ProducerService, broker state and store on
// disk) -> the encoded reply, 4 requests in flight. Prints the process's CPU µs per message, msg/s and
// the 4 MiB append slabs allocated. For iterating on the per-message work (absolute figures: compare
// two builds by running each). Usage:
//   node tools/run-ts.mjs tools/perf/produce-inproc.ts [--count 200000] [--flush async|sync] [--batch 256] [--inflight 4] [--dir D]
// HEAP_SAMPLE=<file.heapprofile>: V8's sampling heap profile of the measured part, collected objects
// included (bytes allocated per message: tools/perf/heap-profile-summary.mjs <file> --per <count>).
// NO_INDEX=1: without the id/key index.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { create, toBinary, v2, timestampFromMs } from '@rmq/contracts';
import { HOT_PATH_CODECS } from '../../libs/contracts/src/fast-codec/rpc-codecs';
import { openBrokerState, ProducerService, SYSTEM_PROPERTY } from '@rmq/messaging';
import { messagingService, type MessagingDeps } from '../../apps/broker/src/messaging-service';
import { createBrokerMetrics } from '../../apps/broker/src/broker-metrics';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

let bigSlabs = 0;
const allocUnsafe = Buffer.allocUnsafe;
(Buffer as unknown as { allocUnsafe: (n: number) => Buffer }).allocUnsafe = (n: number) => {
  if (n >= 4 << 20) bigSlabs++;
  return allocUnsafe(n);
};

async function main(): Promise<void> {
  const count = Number(arg('--count', '200000'));
  const flush = arg('--flush', 'async') as 'sync' | 'async';
  const batch = Number(arg('--batch', '256'));
  const inflight = Number(arg('--inflight', '4'));
  const dir = mkdtempSync(join(arg('--dir', tmpdir()), 'rmq-produce-inproc-'));
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: flush, indexedProperties: process.env.NO_INDEX ? undefined : { messageId: SYSTEM_PROPERTY.messageId, keys: SYSTEM_PROPERTY.keys } });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  await state.topics.create('Bench', { queueCount: 8 });
  const producer = new ProducerService(store, state.topics);
  const metrics = createBrokerMetrics(new Registry(), {
    store, topics: state.topics, groups: state.groups, progress: state.progress, permission: () => 6, brokerName: 'b', role: () => 'master', epoch: () => 1,
    receivesRunning: () => 0, requests: { inFlightBytes: 0, refusals: 0 },
  } as never);
  const deps = {
    topics: state.topics, producer, metrics, isMaster: () => true, permission: { requireWrite: () => {} }, tracing: { enabled: false },
    log: { error: console.error, debug: () => {}, info: () => {}, warn: console.warn }, brokerName: 'b', epoch: () => 1,
  } as unknown as MessagingDeps;
  const service = messagingService(deps);
  const codec = HOT_PATH_CODECS.get('/apache.rocketmq.v2.MessagingService/SendMessage')!;
  // Requests: fresh message ids per request, as the client sends.
  const host = hostname();
  const bodies = Array.from({ length: batch }, () => randomBytes(1024));
  const makeRequest = (n: number): Buffer => Buffer.from(toBinary(v2.SendMessageRequestSchema, create(v2.SendMessageRequestSchema, {
    messages: bodies.map((body, i) => ({
      topic: { name: 'Bench' },
      body,
      systemProperties: {
        messageId: `01${(n * batch + i).toString(16).toUpperCase().padStart(24, '0')}`, bornTimestamp: timestampFromMs(Date.now()), bornHost: host,
        bodyEncoding: v2.Encoding.IDENTITY, queueId: n % 8, messageType: v2.MessageType.NORMAL,
      },
    })),
  })));
  const requests = Array.from({ length: 64 }, (_, n) => makeRequest(n));
  const call = (bytes: Buffer): Promise<void> => new Promise((resolve, reject) => {
    const fake = { request: codec.requestDeserialize!(bytes), metadata: { get: () => [] }, cancelled: false, once: () => {}, getPeer: () => 'x' };
    (service.sendMessage as unknown as (c: unknown, cb: (e: unknown, r: unknown) => void) => void)(fake, (error, reply) => {
      if (error) return reject(error);
      const status = (reply as v2.SendMessageResponse).status;
      if (status && status.code !== v2.Code.OK) return reject(new Error(status.message));
      codec.responseSerialize!(reply);
      resolve();
    });
  });
  const run = async (messages: number): Promise<void> => {
    let next = 0;
    const calls = Math.ceil(messages / batch);
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < calls) await call(requests[next++ % requests.length]);
    }));
  };
  await run(Math.min(count, 50_000)); // warm-up
  const session = process.env.HEAP_SAMPLE ? new (await import('node:inspector')).Session() : undefined;
  const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session!.post(method, params ?? {}, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
  if (session) {
    session.connect();
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  const cpu = process.cpuUsage();
  const startedMs = performance.now();
  await run(count);
  const used = process.cpuUsage(cpu);
  const elapsedMs = performance.now() - startedMs;
  if (session) {
    const { profile } = await post('HeapProfiler.stopSampling');
    (await import('node:fs')).writeFileSync(process.env.HEAP_SAMPLE!, JSON.stringify(profile));
  }
  console.log(`4 MiB slabs allocated: ${bigSlabs}, log MiB ${(store.writtenLogOffset / 1048576).toFixed(0)}`);
  console.log(`${flush} ${count} msgs: ${((used.user + used.system) / count).toFixed(2)} µs/msg CPU (user ${(used.user / count).toFixed(2)}), ${Math.round(count / elapsedMs * 1000)} msg/s`);
  await state.journal.close?.();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
