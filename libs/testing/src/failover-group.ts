// A name server and one broker group of several replicas (broker-a, broker ids 0, 1, ...) as real
// processes on loopback: replica 0 starts as master, the others as slaves that find their master
// through the name server. For tests of the path a client takes across a failover. Replicas keep
// their address and data across restarts, as in the local stack.
import { admin, createClient, namesrv } from '@rmq/contracts';
import { eventually } from './eventually';
import { makeTempDir } from './temp-dir';
import { startApp, type AppProcess } from './app-process';
import { sampleValue, scrapeMetrics } from './prometheus-text';

export const REPLICA_GROUP_NAME = 'broker-a';

export interface ReplicaStart {
  role: 'master' | 'slave';
  epoch: number;
}

export interface FailoverGroup {
  nameServer: AppProcess;
  /** The running process of each replica, by broker id (undefined while stopped). */
  replicas: (AppProcess | undefined)[];
  /** Client endpoint (host:port) of each replica, by broker id; kept across restarts. */
  endpoints: string[];
  /** Creates the topic on the master (slaves copy their master's state) and waits until the name server routes every running replica. */
  createTopic(name: string, options?: { queueCount?: number; messageType?: namesrv.TopicMessageType }): Promise<void>;
  /** Starts replica `brokerId` (again: on its address and data); `extraArgs` go to this start only. */
  start(brokerId: number, as: ReplicaStart, extraArgs?: string[]): Promise<AppProcess>;
  /** The routed members of the group for a topic, as [brokerId, role, epoch], master first. */
  routed(topic: string): Promise<[number, 'master' | 'slave', number][]>;
  /** One sample of replica `brokerId`'s /metrics. */
  metric(brokerId: number, name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startFailoverGroup(replicaCount: number, brokerArgs: string[] = []): Promise<FailoverGroup> {
  const temp = makeTempDir('replica-group');
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--expire-interval-ms', '100']);
  const nameServerClient = createClient(namesrv.NameServerService, nameServer.endpoints.grpc);
  const replicas: (AppProcess | undefined)[] = [];
  const endpoints: string[] = [];
  const start = async (brokerId: number, as: ReplicaStart, extraArgs: string[] = []) => {
    const replica = await startApp('broker', [
      '--listen', endpoints[brokerId] ?? '127.0.0.1:0',
      '--http-listen', '127.0.0.1:0',
      '--data-dir', `${temp.path}/replica-${brokerId}`,
      '--name-servers', nameServer.endpoints.grpc,
      '--broker-name', REPLICA_GROUP_NAME,
      '--broker-id', String(brokerId),
      '--role', as.role,
      '--epoch', String(as.epoch),
      '--register-interval-ms', '500',
      ...brokerArgs,
      ...extraArgs,
    ], { label: `replica-${brokerId}` });
    replicas[brokerId] = replica;
    endpoints[brokerId] = replica.endpoints.grpc;
    void replica.exited.then(() => {
      if (replicas[brokerId] === replica) replicas[brokerId] = undefined;
    });
    return replica;
  };
  for (let brokerId = 0; brokerId < replicaCount; brokerId++) await start(brokerId, { role: brokerId === 0 ? 'master' : 'slave', epoch: 1 });

  const routed = async (topic: string) => {
    const route = await nameServerClient.getTopicRoute({ topic }, { deadlineMs: 2_000 });
    return route.brokers.map((broker) => [Number(broker.broker?.brokerId), broker.role === namesrv.BrokerRole.SLAVE ? 'slave' : 'master', Number(broker.epoch)] as [number, 'master' | 'slave', number]);
  };
  return {
    nameServer,
    replicas,
    endpoints,
    routed,
    start,
    async createTopic(name, options = {}) {
      for (const replica of replicas) {
        if (!replica) continue;
        const client = createClient(admin.AdminService, replica.endpoints.grpc);
        try {
          if ((await client.getBrokerStatus({}, { deadlineMs: 5_000 })).role !== 'master') continue;
          await client.createTopic({ name, queueCount: options.queueCount ?? 4, messageType: options.messageType ?? namesrv.TopicMessageType.NORMAL }, { deadlineMs: 5_000 });
        } finally {
          client.close();
        }
      }
      const running = replicas.filter(Boolean).length;
      await eventually(async () => {
        const members = await routed(name);
        if (members.length !== running) throw new Error(`topic ${name} is routed to ${JSON.stringify(members)}, not yet to all ${running} replicas`);
      }, { timeoutMs: 15_000 });
    },
    async metric(brokerId, name, labels = {}) {
      const replica = replicas[brokerId];
      if (!replica) throw new Error(`replica ${brokerId} is not running`);
      const text = await scrapeMetrics(replica);
      return sampleValue(text, name, labels) ?? 0;
    },
    async stop() {
      nameServerClient.close();
      for (const replica of replicas) if (replica && replica.child.exitCode === null && replica.child.signalCode === null) await replica.kill('SIGTERM');
      await nameServer.kill('SIGTERM');
      temp.remove();
    },
  };
}
