// Replication benchmark (`npm run bench:replication`): produce throughput of a master with one
// in-sync slave as a ratio to a single broker, both in sync mode (every send answered only
// after an fdatasync on each in-sync member), in the same run on the same machine. 1 KiB bodies,
// windows of 1,000 sends in flight, from the official rocketmq-client-nodejs producer (which
// tops out near the broker's single-broker rate on a small machine) and from our SDK (which
// batches concurrent sends, so the broker and replication are the bottleneck).
// Both run side by side, started once; rounds alternate which one is measured first.
// Options: --count <messages per measurement> (default 20000), --rounds <n> (default 4).
import { admin, createClient } from '@rmq/contracts';
import { Producer } from '@rmq/client';
import { killAllApps, makeTempDir, startApp, startOfficialProducer, startReplicaGroup } from '@rmq/testing';

const BODY = Buffer.alloc(1024, 0x61);
const WINDOW = 1_000;
const TOPIC = 'BenchReplication';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive whole number`);
  return value;
}

type Client = 'official' | 'sdk';

async function produceRate(endpoint: string, topic: string, client: Client, count: number): Promise<number> {
  const adminClient = createClient(admin.AdminService, endpoint);
  await adminClient.createTopic({ name: topic, queueCount: 8 }, { deadlineMs: 5_000 });
  adminClient.close();
  const official = client === 'official' ? await startOfficialProducer(endpoint) : undefined;
  const sdk = client === 'sdk' ? Producer.start({ endpoints: endpoint }) : undefined;
  const send = () => (official ? official.send({ topic, body: BODY }) : sdk!.send({ topic, body: BODY }));
  try {
    const window = async (n: number) => void (await Promise.all(Array.from({ length: n }, send)));
    await window(WINDOW); // warm-up
    const startedMs = performance.now();
    for (let sent = 0; sent < count; sent += WINDOW) await window(Math.min(WINDOW, count - sent));
    return count / ((performance.now() - startedMs) / 1000);
  } finally {
    await official?.shutdown().catch(() => undefined);
    await sdk?.close();
  }
}

/** A single broker and a replica group (master + 1 slave), all started up front and stopped at the end. */
async function startBoth(): Promise<{ singleEndpoint: string; masterEndpoint: string; stop: () => Promise<void> }> {
  const temp = makeTempDir('bench-single');
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  const single = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', temp.path, '--name-servers', nameServer.endpoints.grpc, '--broker-name', 'single', '--flush-mode', 'sync']);
  const group = await startReplicaGroup({ slaveCount: 1, brokerArgs: ['--flush-mode', 'sync'] });
  const masterEndpoint = group.master.endpoints.grpc;
  const adminClient = createClient(admin.AdminService, masterEndpoint);
  for (let attempt = 0; (await adminClient.getBrokerStatus({}, { deadlineMs: 3_000 })).inSyncReplicas !== 2; attempt++) {
    if (attempt > 100) throw new Error('the slave never joined the in-sync set');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  adminClient.close();
  return {
    singleEndpoint: single.endpoints.grpc,
    masterEndpoint,
    stop: async () => {
      // rocketmq-client-nodejs 1.0.8 leaves its telemetry stream open after shutdown(); a broker
      // stopping under it then raises an unhandled stream error: harmless at this point.
      process.on('uncaughtException', (error: Error & { code?: number }) => {
        if (error.code !== 14) throw error;
      });
      await group.stop();
      await killAllApps();
      temp.remove();
    },
  };
}

async function main(): Promise<void> {
  const count = option('--count', 20_000);
  const rounds = option('--rounds', 4);
  const format = (value: number) => Math.round(value).toLocaleString('en-US');
  const brokers = await startBoth();
  for (const client of ['official', 'sdk'] as const) {
    const clientCount = client === 'sdk' ? count * 3 : count;
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Alternating which goes first, so warm-up and machine load drift do not favour one side.
      let alone = 0;
      let withSlave = 0;
      for (const side of round % 2 === 1 ? ['single', 'replicated'] : ['replicated', 'single']) {
        const topic = `${TOPIC}-${client}-${round}`;
        if (side === 'single') alone = await produceRate(brokers.singleEndpoint, topic, client, clientCount);
        else withSlave = await produceRate(brokers.masterEndpoint, topic, client, clientCount);
      }
      ratios.push(withSlave / alone);
      console.log(`${client.padEnd(8)} round ${round}: ${format(clientCount)} sends of 1 KiB, sync mode: single broker ${format(alone)} msg/s, master + 1 in-sync slave ${format(withSlave)} msg/s; ratio ${(withSlave / alone).toFixed(2)}`);
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(`${client.padEnd(8)} ratio (master + 1 in-sync slave / single broker) over ${rounds} rounds: median ${sorted[Math.floor(rounds / 2)].toFixed(2)}, min ${sorted[0].toFixed(2)}, max ${sorted[rounds - 1].toFixed(2)}`);
  }
  await brokers.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
