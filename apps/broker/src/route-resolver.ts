// Answers "which brokers serve this topic" for QueryRoute and QueryAssignment: the name
// servers' view of the cluster (each group's master of the highest epoch and its slaves), with
// this broker's own view merged in (routeWithSelf), so a route is right even before the name
// servers have heard of a topic created, or a master promoted, a moment ago.
import { createClient, namesrv } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { TopicConfig } from '@rmq/messaging';
import { effectivePerm, routeWithSelf, type BrokerEndpoint, type BrokerRole, type TopicMessageType, type TopicRoute } from '@rmq/routing';

const NAME_SERVER_DEADLINE_MS = 2_000;
const MESSAGE_TYPES: Record<number, TopicMessageType> = {
  [namesrv.TopicMessageType.NORMAL]: 'NORMAL',
  [namesrv.TopicMessageType.FIFO]: 'FIFO',
  [namesrv.TopicMessageType.DELAY]: 'DELAY',
  [namesrv.TopicMessageType.TRANSACTION]: 'TRANSACTION',
};

export interface SelfDescription {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  endpoint: string;
  zone: string;
  /** The broker-wide permission, which limits what the local topics allow. */
  perm: () => number;
  role: () => BrokerRole;
  epoch: () => number;
}

export class RouteResolver {
  private readonly clients: ReturnType<typeof createClient<typeof namesrv.NameServerService.method>>[];

  constructor(
    nameServers: readonly string[],
    private readonly self: SelfDescription,
    private readonly log: Logger,
  ) {
    this.clients = nameServers.map((address) => createClient(namesrv.NameServerService, address));
  }

  /**
   * The topic's route, groups sorted by broker name: every broker and name server answers the
   * same order, so clients that take "the route's first endpoint" (PushConsumer's
   * QueryAssignment) agree on it. Undefined when no broker serves the topic.
   */
  async resolve(topic: string, localTopic: TopicConfig | undefined): Promise<TopicRoute | undefined> {
    const self = this.self;
    const member: BrokerEndpoint = {
      identity: { clusterName: self.clusterName, brokerName: self.brokerName, brokerId: self.brokerId },
      endpoint: self.endpoint,
      zone: self.zone,
      role: self.role(),
      epoch: self.epoch(),
    };
    const queues = localTopic && {
      brokerName: self.brokerName,
      readQueueCount: localTopic.queueCount,
      writeQueueCount: localTopic.queueCount,
      perm: effectivePerm(localTopic.perm, self.perm()),
      messageType: localTopic.messageType,
    };
    return routeWithSelf(topic, await this.askNameServers(topic), { member, queues });
  }

  close(): void {
    for (const client of this.clients) client.close();
  }

  /** The first name server that answers decides; none answering is logged, not fatal. */
  private async askNameServers(topic: string): Promise<TopicRoute | undefined> {
    for (const client of this.clients) {
      try {
        return routeFromWire(await client.getTopicRoute({ topic }, { deadlineMs: NAME_SERVER_DEADLINE_MS }));
      } catch (error) {
        this.log.warn('name server did not answer a route query', { topic, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return undefined;
  }
}

export function roleFromWire(role: namesrv.BrokerRole): BrokerRole {
  return role === namesrv.BrokerRole.SLAVE ? 'slave' : 'master';
}

function routeFromWire(reply: namesrv.GetTopicRouteResponse): TopicRoute | undefined {
  if (reply.queues.length === 0) return undefined;
  return {
    topic: reply.topic,
    queues: reply.queues.map((queue) => ({
      brokerName: queue.brokerName,
      readQueueCount: queue.readQueueCount,
      writeQueueCount: queue.writeQueueCount,
      perm: queue.perm,
      messageType: MESSAGE_TYPES[queue.messageType] ?? 'NORMAL',
    })),
    brokers: reply.brokers.flatMap((broker) =>
      broker.broker
        ? [{
            identity: { clusterName: broker.broker.clusterName, brokerName: broker.broker.brokerName, brokerId: Number(broker.broker.brokerId) },
            endpoint: broker.endpoint,
            zone: broker.zone,
            role: roleFromWire(broker.role),
            epoch: Number(broker.epoch),
          }]
        : [],
    ),
  };
}
