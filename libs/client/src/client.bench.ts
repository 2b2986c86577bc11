// Broker benchmark through the SDK (`npm run bench:broker`): a name server and one broker as real
// processes, 1 KiB bodies, produce in windows of 1,000 (send all, await all: peerbench's method,
// see shared/docs/performance.md), then consume the backlog with receive + batched ack. The
// official rocketmq-client-nodejs producer runs in the same process and run, as the baseline the
// SDK is a ratio of. Both flush modes. Options: --count <messages> (default 100000),
// --official-count <messages> (default 10000).
import { admin, createClient } from '@rmq/contracts';
import { killAllApps, makeTempDir, startApp, startOfficialProducer } from '@rmq/testing';
import { Producer, SimpleConsumer } from './index';

const BODY = Buffer.alloc(1024, 0x61);
const WINDOW = 1_000;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < WINDOW) throw new Error(`${name} needs a whole number of at least ${WINDOW}`);
  return value;
}

async function produce(count: number, send: (i: number) => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) await Promise.all(Array.from({ length: Math.min(WINDOW, count - sent) }, (_, i) => send(sent + i)));
  return count / ((performance.now() - startedMs) / 1000);
}

async function consume(endpoint: string, topic: string, count: number): Promise<number> {
  const consumer = SimpleConsumer.start({ endpoints: endpoint, group: `bench-${topic}`, subscriptions: { [topic]: '*' }, awaitMs: 2_000 });
  const startedMs = performance.now();
  let received = 0;
  try {
    // Four receives in flight, each acking what it got before asking again.
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (received < count) {
        const messages = await consumer.receive({ countMax: 32 });
        if (messages.length === 0) return;
        received += messages.length;
        await consumer.ack(messages);
      }
    }));
  } finally {
    await consumer.close();
  }
  if (received < count) throw new Error(`consumed ${received} of ${count} messages`);
  return received / ((performance.now() - startedMs) / 1000);
}

async function run(flushMode: 'sync' | 'async', count: number, officialCount: number): Promise<void> {
  const temp = makeTempDir('bench-broker');
  try {
    const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', temp.path, '--name-servers', nameServer.endpoints.grpc, '--flush-mode', flushMode]);
    const endpoint = broker.endpoints.grpc;
    const adminClient = createClient(admin.AdminService, endpoint);
    for (const name of ['BenchSdk', 'BenchOfficial']) await adminClient.createTopic({ name, queueCount: 8 }, { deadlineMs: 5_000 });
    adminClient.close();

    const producer = Producer.start({ endpoints: endpoint });
    await produce(WINDOW, () => producer.send({ topic: 'BenchSdk', body: BODY })); // warm-up
    const sdkRate = await produce(count, () => producer.send({ topic: 'BenchSdk', body: BODY }));
    await producer.close();

    const official = await startOfficialProducer(endpoint);
    await produce(WINDOW, () => official.send({ topic: 'BenchOfficial', body: BODY }));
    const officialRate = await produce(officialCount, () => official.send({ topic: 'BenchOfficial', body: BODY }));
    await official.shutdown().catch(() => undefined);

    const consumeRate = await consume(endpoint, 'BenchSdk', count + WINDOW);
    const format = (value: number) => Math.round(value).toLocaleString('en-US');
    console.log(
      `${flushMode.padEnd(5)} produce: SDK ${format(sdkRate)} msg/s (${((sdkRate * BODY.length) / 1e6).toFixed(1)} MB/s), official client ${format(officialRate)} msg/s; SDK/official ${(sdkRate / officialRate).toFixed(1)}x | consume (SDK, 4 receives of 32 in flight, batched acks) ${format(consumeRate)} msg/s`,
    );
  } finally {
    await killAllApps();
    temp.remove();
  }
}

async function main(): Promise<void> {
  const count = option('--count', 100_000);
  const officialCount = option('--official-count', 10_000);
  console.log(`broker benchmark: 1 KiB bodies, windows of ${WINDOW}, ${count} SDK and ${officialCount} official-client messages per mode, one broker, client and broker sharing this machine`);
  for (const flushMode of ['sync', 'async'] as const) await run(flushMode, count, officialCount);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
