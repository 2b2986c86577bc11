// The I/O half of a poll: asks the name servers for the live brokers (first that answers), then
// every broker for its status, topics and queue offsets, each call with a deadline. Failures are
// captured as outcomes, never thrown; cluster-snapshot.ts makes sense of them.
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Clock, Credentials } from '@rmq/base';
import { admin, createClient, namesrv, signedMetadata, type CallOptions, type ServiceClient } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import { brokerTargetsOf, buildSnapshot, type BrokerReplies, type BrokerTarget, type ClusterSnapshot, type Outcome } from './cluster-snapshot';
import { BROKERS_POLLED_MAX, GET_TOPIC_CONCURRENCY_MAX, GROUPS_PER_BROKER_POLLED_MAX, TOPICS_PER_BROKER_POLLED_MAX } from './limits';

export interface ClusterPollerOptions {
  nameServers: readonly string[];
  rpcTimeoutMs: number;
  clock: Clock;
  log: Logger;
  /** TLS to name servers and brokers; plaintext when absent. */
  channelCredentials?: () => ChannelCredentials;
  /** Who to call brokers as when they run with --auth. */
  credentials?: Credentials;
}

type AdminClient = ServiceClient<typeof admin.AdminService.method>;
type NameServerClient = ServiceClient<typeof namesrv.NameServerService.method>;

export class ClusterPoller {
  private readonly nameServers: { address: string; client: NameServerClient }[];
  /** One channel per broker endpoint, kept between polls; closed once the broker leaves the cluster. */
  private readonly adminClients = new Map<string, AdminClient>();

  constructor(private readonly options: ClusterPollerOptions) {
    this.nameServers = options.nameServers.map((address) => ({ address, client: createClient(namesrv.NameServerService, address, {}, options.channelCredentials?.()) }));
  }

  async poll(signal: AbortSignal): Promise<ClusterSnapshot> {
    const takenAtMs = this.options.clock.nowMs();
    const answer = await this.askNameServers(signal);
    let targets: BrokerTarget[] = [];
    if (answer.ok) {
      targets = brokerTargetsOf(answer.value.reply, BROKERS_POLLED_MAX);
      if (answer.value.reply.brokers.length > BROKERS_POLLED_MAX) {
        this.options.log.warn('more live brokers than one poll reads; the rest are left out', { brokersMax: BROKERS_POLLED_MAX });
      }
    }
    const brokers = await Promise.all(targets.map((target) => this.pollBroker(target, signal)));
    this.closeClientsExcept(new Set(targets.map((target) => target.endpoint)));
    return buildSnapshot({
      takenAtMs,
      nameServer: answer.ok ? { ok: true, value: answer.value.address } : answer,
      brokers,
    });
  }

  close(): void {
    for (const { client } of this.nameServers) client.close();
    this.closeClientsExcept(new Set());
  }

  private async askNameServers(signal: AbortSignal): Promise<Outcome<{ address: string; reply: namesrv.GetClusterInfoResponse }>> {
    const errors: string[] = [];
    for (const { address, client } of this.nameServers) {
      const outcome = await settle(client.getClusterInfo({}, this.callOptions(signal)));
      if (outcome.ok) return { ok: true, value: { address, reply: outcome.value } };
      errors.push(`${address}: ${outcome.error}`);
    }
    return { ok: false, error: `no name server answered (${errors.join('; ')})` };
  }

  private async pollBroker(target: BrokerTarget, signal: AbortSignal): Promise<BrokerReplies> {
    let client = this.adminClients.get(target.endpoint);
    if (!client) {
      client = this.newAdminClient(target.endpoint);
      this.adminClients.set(target.endpoint, client);
    }
    const options = this.callOptions(signal);
    const [status, topicList] = await Promise.all([settle(client.getBrokerStatus({}, options)), settle(client.listTopics({}, options))]);
    if (!status.ok || !topicList.ok) return { target, status, topicList, topics: [] };
    const names = topicList.value.topics.map((topic) => topic.name);
    if (names.length > TOPICS_PER_BROKER_POLLED_MAX) {
      this.options.log.warn('broker lists more topics than one poll reads; the rest are left out', {
        endpoint: target.endpoint,
        topicCount: names.length,
        topicsMax: TOPICS_PER_BROKER_POLLED_MAX,
      });
    }
    const adminClient = client;
    const topics = await mapBounded(names.slice(0, TOPICS_PER_BROKER_POLLED_MAX), GET_TOPIC_CONCURRENCY_MAX, async (topic) => ({
      topic,
      reply: await settle(adminClient.getTopic({ name: topic }, options)),
    }));
    return { target, status, topicList, topics, groups: await this.pollGroups(adminClient, target, options) };
  }

  /** Each consumer group's progress on a master (a slave's copy would count twice); none on a slave. */
  private async pollGroups(client: AdminClient, target: BrokerTarget, options: CallOptions): Promise<BrokerReplies['groups']> {
    const list = await settle(client.listGroups({}, options));
    if (!list.ok) return [];
    const names = list.value.groups.map((group) => group.name);
    if (names.length > GROUPS_PER_BROKER_POLLED_MAX) {
      this.options.log.warn('broker lists more consumer groups than one poll reads; the rest are left out', { endpoint: target.endpoint, groupCount: names.length, groupsMax: GROUPS_PER_BROKER_POLLED_MAX });
    }
    return mapBounded(names.slice(0, GROUPS_PER_BROKER_POLLED_MAX), GET_TOPIC_CONCURRENCY_MAX, async (group) => ({ group, reply: await settle(client.getGroup({ name: group }, options)) }));
  }

  private newAdminClient(endpoint: string): AdminClient {
    return createClient(admin.AdminService, endpoint, {}, this.options.channelCredentials?.());
  }

  private callOptions(signal: AbortSignal): CallOptions {
    return { deadlineMs: this.options.rpcTimeoutMs, signal, metadata: signedMetadata(this.options.credentials, this.options.clock.nowMs()) };
  }

  private closeClientsExcept(endpoints: ReadonlySet<string>): void {
    for (const [endpoint, client] of this.adminClients) {
      if (endpoints.has(endpoint)) continue;
      client.close();
      this.adminClients.delete(endpoint);
    }
  }
}

function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
}

/** Maps `items` with at most `limit` calls of `fn` running at once, keeping the order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
