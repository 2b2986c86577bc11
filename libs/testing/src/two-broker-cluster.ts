// A name server and two broker groups (broker-a, broker-b) as real processes on loopback, for
// tests of routing, load balancing and consumer assignment across brokers.
import { admin, createClient, namesrv } from '@rmq/contracts';
import { eventually } from './eventually';
import { makeTempDir } from './temp-dir';
import { startApp, type AppProcess } from './app-process';

export type BrokerName = 'broker-a' | 'broker-b';

export interface TwoBrokerCluster {
  nameServer: AppProcess;
  brokers: Record<BrokerName, AppProcess>;
  /** Client endpoint (host:port) of each broker. */
  endpoints: Record<BrokerName, string>;
  /** Creates the topic on both brokers and waits until the name server routes it to both. */
  createTopic(name: string, options?: { queueCount?: number; messageType?: namesrv.TopicMessageType }): Promise<void>;
  /** Starts a broker again (after a kill) on its old address and data. */
  restart(brokerName: BrokerName): Promise<void>;
  stop(): Promise<void>;
}

const BROKERS: BrokerName[] = ['broker-a', 'broker-b'];

/** `brokerArgs` go to both brokers, `perBroker` to one (e.g. its --zone). */
export async function startTwoBrokerCluster(brokerArgs: string[] = [], perBroker: Partial<Record<BrokerName, string[]>> = {}): Promise<TwoBrokerCluster> {
  const temp = makeTempDir('two-brokers');
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  const brokers = {} as Record<BrokerName, AppProcess>;
  const start = (brokerName: BrokerName, listen: string) =>
    startApp('broker', [
      '--listen', listen,
      '--http-listen', '127.0.0.1:0',
      '--data-dir', `${temp.path}/${brokerName}`,
      '--name-servers', nameServer.endpoints.grpc,
      '--broker-name', brokerName,
      '--register-interval-ms', '500',
      ...brokerArgs,
      ...(perBroker[brokerName] ?? []),
    ], { label: brokerName });
  for (const brokerName of BROKERS) brokers[brokerName] = await start(brokerName, '127.0.0.1:0');
  const endpoints = Object.fromEntries(BROKERS.map((name) => [name, brokers[name].endpoints.grpc])) as Record<BrokerName, string>;
  const nameServerClient = createClient(namesrv.NameServerService, nameServer.endpoints.grpc);
  return {
    nameServer,
    brokers,
    endpoints,
    async createTopic(name, options = {}) {
      for (const brokerName of BROKERS) {
        const client = createClient(admin.AdminService, endpoints[brokerName]);
        try {
          await client.createTopic({ name, queueCount: options.queueCount ?? 4, messageType: options.messageType ?? namesrv.TopicMessageType.NORMAL }, { deadlineMs: 5_000 });
        } finally {
          client.close();
        }
      }
      await eventually(async () => {
        const route = await nameServerClient.getTopicRoute({ topic: name }, { deadlineMs: 2_000 });
        const routed = route.queues.map((queue) => queue.brokerName).sort();
        if (routed.join() !== BROKERS.join()) throw new Error(`topic ${name} is routed to [${routed.join(', ')}], not yet to both brokers`);
      }, { timeoutMs: 10_000 });
    },
    async restart(brokerName) {
      brokers[brokerName] = await start(brokerName, endpoints[brokerName]);
    },
    async stop() {
      nameServerClient.close();
      for (const brokerName of BROKERS) if (brokers[brokerName].child.exitCode === null && brokers[brokerName].child.signalCode === null) await brokers[brokerName].kill('SIGTERM');
      await nameServer.kill('SIGTERM');
      temp.remove();
    },
  };
}
