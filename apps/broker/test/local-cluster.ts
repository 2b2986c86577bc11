// A name server and one broker as real processes on loopback, for broker tests.
import { admin, createClient, namesrv } from '@rmq/contracts';
import { eventually, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

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
