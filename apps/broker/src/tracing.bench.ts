// Produce throughput with tracing off and on, in one run (`npm run bench:tracing`): a name server
// and a broker as real processes, 1 KiB messages in windows of 1,000, sent by our SDK (batched:
// the broker's fastest path, where a fixed cost shows most) or with --client official by the
// official client (one SendMessage per message: the most spans per message). Rounds alternate off / on with a
// fresh broker each, so drift of the machine falls on both; "off vs off" (the two off rounds)
// shows the noise. On = OTLP/HTTP protobuf to an in-process receiver, every span sampled.
// Options: --count <messages per round> (default 50000), --rounds <per setting> (default 3),
// --flush-mode sync|async (default async: fsync would hide the CPU cost).
import { admin, createClient } from '@rmq/contracts';
import { Producer } from '@rmq/client';
import { killAllApps, makeTempDir, startApp, startOfficialProducer, startOtlpReceiver, type OtlpReceiver } from '@rmq/testing';

const BODY = Buffer.alloc(1024, 0x61);
const WINDOW = 1_000;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at < 0 ? fallback : process.argv[at + 1];
}

async function round(nameServer: string, flushMode: string, client: string, count: number, env: Record<string, string>): Promise<number> {
  const temp = makeTempDir('bench-tracing');
  try {
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', temp.path, '--name-servers', nameServer, '--flush-mode', flushMode], { env });
    const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
    await adminClient.createTopic({ name: 'BenchTracing', queueCount: 8 }, { deadlineMs: 5_000 });
    adminClient.close();
    const official = client === 'official' ? await startOfficialProducer(broker.endpoints.grpc) : undefined;
    const sdk = official ? undefined : Producer.start({ endpoints: broker.endpoints.grpc });
    const send = () => (official ? official.send({ topic: 'BenchTracing', body: BODY }) : sdk!.send({ topic: 'BenchTracing', body: BODY }));
    await Promise.all(Array.from({ length: WINDOW }, send)); // warm-up
    const startedMs = performance.now();
    for (let sent = 0; sent < count; sent += WINDOW) await Promise.all(Array.from({ length: Math.min(WINDOW, count - sent) }, send));
    const rate = count / ((performance.now() - startedMs) / 1000);
    await official?.shutdown().catch(() => undefined);
    await sdk?.close();
    await broker.kill('SIGTERM');
    return rate;
  } finally {
    temp.remove();
  }
}

async function main(): Promise<void> {
  const count = Number(option('--count', '50000'));
  const rounds = Number(option('--rounds', '3'));
  const client = option('--client', 'sdk');
  const flushMode = option('--flush-mode', 'async');
  if (!Number.isInteger(count) || count < WINDOW) throw new Error(`--count needs a whole number of at least ${WINDOW}`);
  if (!Number.isInteger(rounds) || rounds < 2) throw new Error('--rounds needs a whole number of at least 2');
  const receiver: OtlpReceiver = await startOtlpReceiver();
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  const off: number[] = [];
  const on: number[] = [];
  try {
    console.log(`tracing benchmark: ${client} client, 1 KiB bodies, windows of ${WINDOW}, ${count} messages per round, ${rounds} rounds each, flush ${flushMode}`);
    for (let i = 0; i < rounds; i++) {
      off.push(await round(nameServer.endpoints.grpc, flushMode, client, count, {}));
      on.push(await round(nameServer.endpoints.grpc, flushMode, client, count, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }));
      console.log(`  round ${i + 1}: off ${Math.round(off[i])} msg/s, on ${Math.round(on[i])} msg/s`);
    }
  } finally {
    await killAllApps();
    await receiver.close();
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const spread = (Math.max(...off) - Math.min(...off)) / mean(off);
  console.log(`off: ${Math.round(mean(off))} msg/s (rounds differ by ${(spread * 100).toFixed(1)}%)`);
  console.log(`on:  ${Math.round(mean(on))} msg/s = ${(mean(on) / mean(off)).toFixed(3)} x off (${receiver.spans.length} spans received)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
