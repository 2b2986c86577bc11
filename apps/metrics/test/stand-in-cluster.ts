// Stand-ins for the peers the metrics app polls: a name server and brokers serving only what the
// app calls (GetClusterInfo; GetBrokerStatus, ListTopics, GetTopic), as real gRPC servers on
// loopback. The real broker's AdminService is written elsewhere; these keep this app's test
// independent of it. A stand-in broker can be told to stop answering (hang) or to go away.
import * as grpc from '@grpc/grpc-js';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { RmqError } from '@rmq/base';
import { addService, admin, listen, namesrv, reply, unaryHandlers, type UnaryImplementation } from '@rmq/contracts';

type MethodsOf<T> = T extends GenService<infer S extends GenServiceMethods> ? S : never;

const ignoreErrors = () => undefined;
const unsupported = async (): Promise<never> => {
  throw new RmqError('UNSUPPORTED', { feature: 'this call on a stand-in' });
};

export interface BrokerSpec {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  logEndOffset: number;
  /** topic -> max offset of each queue, by queue id */
  topics: Record<string, number[]>;
}

export class StandInBroker {
  /** 'hang' leaves every call without an answer, as a stuck broker would. */
  mode: 'answer' | 'hang' = 'answer';

  private constructor(
    readonly spec: BrokerSpec,
    private readonly server: grpc.Server,
    readonly endpoint: string,
  ) {}

  static async start(spec: BrokerSpec): Promise<StandInBroker> {
    const server = new grpc.Server();
    const port = await listen(server, '127.0.0.1', 0);
    const broker = new StandInBroker(spec, server, `127.0.0.1:${port}`);
    addService(server, admin.AdminService, unaryHandlers(broker.adminService(), ignoreErrors));
    return broker;
  }

  stop(): void {
    this.server.forceShutdown();
  }

  private adminService(): UnaryImplementation<MethodsOf<typeof admin.AdminService>> {
    const answer = async <T>(value: () => T): Promise<T> => (this.mode === 'hang' ? new Promise<T>(() => undefined) : value());
    const topicConfig = (name: string) => ({ name, readQueueCount: this.spec.topics[name].length, writeQueueCount: this.spec.topics[name].length, perm: 6 });
    return {
      createTopic: unsupported,
      updateTopic: unsupported,
      setBrokerPermission: unsupported,
      setBrokerRole: unsupported,
      listTransactions: unsupported,
      createGroup: unsupported,
      updateGroup: unsupported,
      getGroup: unsupported,
      listGroups: unsupported,
      deleteGroup: unsupported,
      findMessages: unsupported,
      putUser: unsupported,
      deleteUser: unsupported,
      listUsers: unsupported,
      setGrant: unsupported,
      getBrokerStatus: () =>
        answer(() =>
          reply(admin.GetBrokerStatusResponseSchema, {
            broker: { clusterName: this.spec.clusterName, brokerName: this.spec.brokerName, brokerId: BigInt(this.spec.brokerId) },
            role: this.spec.brokerId === 0 ? 'master' : 'slave',
            epoch: 1n,
            logEndOffset: BigInt(this.spec.logEndOffset),
            confirmedOffset: BigInt(this.spec.logEndOffset),
            flushMode: 'sync',
            topicCount: Object.keys(this.spec.topics).length,
          }),
        ),
      listTopics: () => answer(() => reply(admin.ListTopicsResponseSchema, { topics: Object.keys(this.spec.topics).map(topicConfig) })),
      getTopic: (request) =>
        answer(() => {
          const maxOffsets = this.spec.topics[request.name];
          if (!maxOffsets) throw new RmqError('TOPIC_NOT_FOUND', { topic: request.name });
          return reply(admin.GetTopicResponseSchema, {
            topic: topicConfig(request.name),
            queues: maxOffsets.map((maxOffset, queueId) => ({ queueId, minOffset: 0n, maxOffset: BigInt(maxOffset) })),
          });
        }),
    };
  }
}

export class StandInNameServer {
  private constructor(
    private readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(brokers: () => StandInBroker[]): Promise<StandInNameServer> {
    const server = new grpc.Server();
    const service: UnaryImplementation<MethodsOf<typeof namesrv.NameServerService>> = {
      registerBroker: unsupported,
      unregisterBroker: unsupported,
      getTopicRoute: unsupported,
      getClusterInfo: async () =>
        reply(namesrv.GetClusterInfoResponseSchema, {
          brokers: brokers().map((broker) => ({
            broker: {
              broker: { clusterName: broker.spec.clusterName, brokerName: broker.spec.brokerName, brokerId: BigInt(broker.spec.brokerId) },
              endpoint: broker.endpoint,
            },
            lastHeartbeatMs: BigInt(Date.now()),
            topicCount: Object.keys(broker.spec.topics).length,
            brokerPerm: 6,
          })),
        }),
    };
    addService(server, namesrv.NameServerService, unaryHandlers(service, ignoreErrors));
    const port = await listen(server, '127.0.0.1', 0);
    return new StandInNameServer(server, `127.0.0.1:${port}`);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
