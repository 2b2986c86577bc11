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

/**
 * Name servers are asked in parallel and the first answer wins; none answering within this
 * bound gives the last answer seen. Well below the official client's 3 s request timeout, so a
 * dead name server never makes a QueryRoute time out.
 */
const NAME_SERVER_DEADLINE_MS = 1_500;
/** Topics whose last route answer is kept, for when no name server answers in time. */
const CACHED_ROUTES_MAX = 10_000;
const MESSAGE_TYPES: Record<number, TopicMessageType> = {
  [namesrv.TopicMessageType.NORMAL]: 'NORMAL',
  [namesrv.TopicMessageType.FIFO]: 'FIFO',
  [namesrv.TopicMessageType.DELAY]: 'DELAY',
  [namesrv.TopicMessageType.TRANSACTION]: 'TRANSACTION',
};

export class RouteResolver {
  /** The last route each topic got from a name server, oldest first. */
  private readonly cached = new Map<string, BrokerQueues[]>();
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

  /** The first name server to answer decides; none answering in time gives the last answer seen (logged, not fatal). */
  private async askNameServers(topic: string): Promise<BrokerQueues[]> {
    if (this.clients.length === 0) return [];
    const abort = new AbortController();
    try {
      const reply = await Promise.any(this.clients.map((client) => client.getTopicRoute({ topic }, { deadlineMs: NAME_SERVER_DEADLINE_MS, signal: abort.signal })));
      const route = routeFromReply(reply);
      this.cached.delete(topic);
      this.cached.set(topic, route);
      if (this.cached.size > CACHED_ROUTES_MAX) this.cached.delete(this.cached.keys().next().value!);
      return route;
    } catch (error) {
      const reasons = error instanceof AggregateError ? error.errors.map((e) => (e instanceof Error ? e.message : String(e))) : [String(error)];
      const cached = this.cached.get(topic);
      this.log.warn('no name server answered a route query', { topic, errors: reasons, answeredFromCache: cached !== undefined });
      return cached ?? [];
    } finally {
      abort.abort(); // the slower name servers' calls are not needed any more
    }
  }
}

function routeFromReply(reply: namesrv.GetTopicRouteResponse): BrokerQueues[] {
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
}
