// Answers "which brokers serve this topic" for QueryRoute and QueryAssignment: the name
// servers' view of the cluster (each group's master of the highest epoch and its slaves), with
// this broker's own view merged in (routeWithSelf), so a route is right even before the name
// servers have heard of a topic created, or a master promoted, a moment ago.
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createClient, namesrv, topicMessageTypeFromWire } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { TopicConfig } from '@rmq/messaging';
import { effectivePerm, routeWithSelf, type BrokerEndpoint, type BrokerRole, type TopicRoute } from '@rmq/routing';

/**
 * Name servers are asked in parallel and the first answer wins; none answering within this
 * bound gives the last answer seen. Well below the official client's 3 s request timeout, so a
 * dead name server never makes a QueryRoute time out.
 */
const NAME_SERVER_DEADLINE_MS = 1_500;
/** Topics whose last route answer is kept, for when no name server answers in time. */
const CACHED_ROUTES_MAX = 10_000;

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
  /** The last route each topic got from a name server, oldest first. */
  private readonly cached = new Map<string, TopicRoute | undefined>();
  private readonly clients: ReturnType<typeof createClient<typeof namesrv.NameServerService.method>>[];

  constructor(
    nameServers: readonly string[],
    private readonly self: SelfDescription,
    private readonly log: Logger,
    credentials?: () => ChannelCredentials,
  ) {
    this.clients = nameServers.map((address) => createClient(namesrv.NameServerService, address, {}, credentials?.()));
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

  /** The first name server to answer decides; none answering in time gives the last answer seen (logged, not fatal). */
  private async askNameServers(topic: string): Promise<TopicRoute | undefined> {
    if (this.clients.length === 0) return undefined;
    const abort = new AbortController();
    try {
      const reply = await Promise.any(this.clients.map((client) => client.getTopicRoute({ topic }, { deadlineMs: NAME_SERVER_DEADLINE_MS, signal: abort.signal })));
      const route = routeFromWire(reply);
      this.cached.delete(topic);
      this.cached.set(topic, route);
      if (this.cached.size > CACHED_ROUTES_MAX) this.cached.delete(this.cached.keys().next().value!);
      return route;
    } catch (error) {
      const reasons = error instanceof AggregateError ? error.errors.map((e) => (e instanceof Error ? e.message : String(e))) : [String(error)];
      const cached = this.cached.get(topic);
      this.log.warn('no name server answered a route query', { topic, errors: reasons, answeredFromCache: cached !== undefined });
      return cached;
    } finally {
      abort.abort(); // the slower name servers' calls are not needed any more
    }
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
      messageType: topicMessageTypeFromWire(queue.messageType) ?? 'NORMAL',
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
