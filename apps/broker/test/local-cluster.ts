// A name server and one broker as real processes on loopback, for broker tests.
import type { Producer } from 'rocketmq-client-nodejs';
import { admin, createClient, namesrv, v2, type ServiceClient } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, startApp, startOfficialProducer, type AppProcess } from '@rmq/testing';

export interface LocalCluster {
  nameServer: AppProcess;
  broker: AppProcess;
  dataDir: string;
  /** The broker's client endpoint (host:port). */
  endpoint: string;
  admin: ReturnType<typeof createClient<typeof admin.AdminService.method>>;
  createTopic(name: string, options?: { queueCount?: number; messageType?: namesrv.TopicMessageType }): Promise<void>;
  /** Stops the broker with `signal`, runs `whileStopped` (e.g. to damage its files), starts it again. */
  restartBroker(signal: NodeJS.Signals, whileStopped?: () => void): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalCluster(brokerArgs: string[] = [], options: { env?: Record<string, string> } = {}): Promise<LocalCluster> {
  const temp = makeTempDir('cluster');
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], options);
  const args = () => [
    '--listen', cluster.endpoint || '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--data-dir', temp.path,
    '--name-servers', nameServer.endpoints.grpc,
    '--register-interval-ms', '1000',
    ...brokerArgs,
  ];
  const cluster: LocalCluster = {
    nameServer,
    broker: undefined as unknown as AppProcess,
    dataDir: temp.path,
    endpoint: '',
    admin: undefined as unknown as LocalCluster['admin'],
    async createTopic(name, options = {}) {
      await cluster.admin.createTopic({ name, queueCount: options.queueCount ?? 8, messageType: options.messageType ?? namesrv.TopicMessageType.NORMAL }, { deadlineMs: 5_000 });
    },
    async restartBroker(signal, whileStopped) {
      await cluster.broker.kill(signal);
      whileStopped?.();
      cluster.broker = await startApp('broker', args(), options);
      // The admin channel backs off while the broker is down: wait until it reconnected.
      await eventually(() => cluster.admin.getBrokerStatus({}, { deadlineMs: 1_000 }), { timeoutMs: 10_000 });
    },
    async stop() {
      cluster.admin.close();
      await cluster.broker.kill('SIGTERM');
      await nameServer.kill('SIGTERM');
      temp.remove();
    },
  };
  cluster.broker = await startApp('broker', args(), options);
  cluster.endpoint = cluster.broker.endpoints.grpc;
  cluster.admin = createClient(admin.AdminService, cluster.endpoint);
  return cluster;
}

export type MessagingClient = ServiceClient<typeof v2.MessagingService.method>;

export interface ClusterSuiteSetup {
  brokerArgs?: string[];
  env?: Record<string, string>;
  /** Topics created before the tests, each with `topicOptions`. */
  topics?: string[];
  topicOptions?: { queueCount?: number; messageType?: namesrv.TopicMessageType };
  /** Opens a v2 MessagingService client on the broker as `client`. */
  client?: boolean;
  /** Starts an official producer on the broker as `producer`: the plain one, or the one this function makes. */
  producer?: boolean | ((endpoint: string) => Promise<Producer>);
}

/** What a suite's tests use; each part is there once the suite's beforeAll has run. */
export interface ClusterSuite {
  readonly cluster: LocalCluster;
  readonly client: MessagingClient;
  readonly producer: Producer;
}

/**
 * A local cluster for the whole suite: started (topics, client, producer) in beforeAll, and
 * everything stopped in afterAll, every app this file started included. Call it in a describe.
 */
export function useLocalCluster(setup: ClusterSuiteSetup = {}): ClusterSuite {
  const parts: { cluster?: LocalCluster; client?: MessagingClient; producer?: Producer } = {};
  beforeAll(async () => {
    const cluster = (parts.cluster = await startLocalCluster(setup.brokerArgs, { env: setup.env }));
    for (const topic of setup.topics ?? []) await cluster.createTopic(topic, setup.topicOptions);
    if (setup.client) parts.client = createClient(v2.MessagingService, cluster.endpoint);
    if (setup.producer) parts.producer = await (setup.producer === true ? startOfficialProducer : setup.producer)(cluster.endpoint);
  }, 60_000);
  afterAll(async () => {
    parts.client?.close();
    await parts.producer?.shutdown().catch(() => undefined);
    await parts.cluster?.stop();
    await killAllApps();
  });
  const part = <K extends keyof typeof parts>(name: K, option: string): NonNullable<(typeof parts)[K]> => {
    const value = parts[name];
    if (!value) throw new Error(`useLocalCluster: no ${name} (${option}), or asked for before beforeAll`);
    return value as NonNullable<(typeof parts)[K]>;
  };
  return {
    get cluster() { return part('cluster', 'it failed to start'); },
    get client() { return part('client', 'pass client: true'); },
    get producer() { return part('producer', 'pass producer: true'); },
  };
}
