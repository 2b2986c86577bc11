// Answers "which brokers serve this topic" for QueryRoute and QueryAssignment: the name
// servers' view of the cluster, plus this broker itself when it has the topic (so a route is
// right even before the name servers have heard of a topic created a moment ago).
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createClient, namesrv } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import { PERM_READ, PERM_WRITE, type TopicConfig, type TopicMessageType } from '@rmq/messaging';
import { effectivePerm } from '@rmq/routing';

export interface BrokerQueues {
  brokerName: string;
  endpoint: string;
  queueCount: number;
  perm: number;
  messageType: TopicMessageType;
  /** The broker's zone label ('' for none). */
  zone: string;
}

const NAME_SERVER_DEADLINE_MS = 2_000;
const MESSAGE_TYPES: Record<number, TopicMessageType> = {
  [namesrv.TopicMessageType.NORMAL]: 'NORMAL',
  [namesrv.TopicMessageType.FIFO]: 'FIFO',
  [namesrv.TopicMessageType.DELAY]: 'DELAY',
  [namesrv.TopicMessageType.TRANSACTION]: 'TRANSACTION',
};

export class RouteResolver {
  private readonly clients: ReturnType<typeof createClient<typeof namesrv.NameServerService.method>>[];

  constructor(
    nameServers: readonly string[],
    /** `perm`: the broker-wide permission, which limits what the local topics allow. */
    private readonly self: { brokerName: string; endpoint: string; zone: string; perm: () => number },
    private readonly log: Logger,
    credentials?: () => ChannelCredentials,
  ) {
    this.clients = nameServers.map((address) => createClient(namesrv.NameServerService, address, {}, credentials?.()));
  }

  /**
   * Brokers serving `topic`, sorted by broker name: every broker answers the same order, so
   * clients that take "the route's first broker" (PushConsumer's QueryAssignment) agree on it.
   */
  async resolve(topic: string, localTopic: TopicConfig | undefined): Promise<BrokerQueues[]> {
    const route: BrokerQueues[] = [];
    if (localTopic) {
      route.push({ brokerName: this.self.brokerName, endpoint: this.self.endpoint, queueCount: localTopic.queueCount, perm: effectivePerm(localTopic.perm, this.self.perm()), messageType: localTopic.messageType, zone: this.self.zone });
    }
    for (const entry of await this.askNameServers(topic)) {
      if (!route.some((known) => known.brokerName === entry.brokerName)) route.push(entry);
    }
    return route.sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  }

  close(): void {
    for (const client of this.clients) client.close();
  }

  /** The first name server that answers decides; none answering is logged, not fatal. */
  private async askNameServers(topic: string): Promise<BrokerQueues[]> {
    for (const client of this.clients) {
      try {
        const reply = await client.getTopicRoute({ topic }, { deadlineMs: NAME_SERVER_DEADLINE_MS });
        const master = new Map<string, { endpoint: string; zone: string }>();
        for (const broker of reply.brokers) {
          if (broker.broker && broker.broker.brokerId === 0n) master.set(broker.broker.brokerName, { endpoint: broker.endpoint, zone: broker.zone });
        }
        return reply.queues.flatMap((queue) => {
          const { endpoint, zone } = master.get(queue.brokerName) ?? {};
          if (!endpoint) return [];
          return [{
            brokerName: queue.brokerName,
            endpoint,
            queueCount: Math.max(queue.readQueueCount, queue.writeQueueCount),
            perm: queue.perm & (PERM_READ | PERM_WRITE),
            messageType: MESSAGE_TYPES[queue.messageType] ?? 'NORMAL',
            zone: zone ?? '',
          }];
        });
      } catch (error) {
        this.log.warn('name server did not answer a route query', { topic, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return [];
  }
}
