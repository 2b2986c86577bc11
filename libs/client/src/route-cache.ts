// The brokers of each topic, from QueryRoute on any known broker, kept for `refreshMs` (30 s) and
// refreshed in the background after that (a stale route keeps serving meanwhile), so brokers
// added to a topic and queue count changes are picked up without a restart.
import { v2 } from '@rmq/contracts';
import { ClientError, isOk } from './client-error';
import type { Connections } from './connections';
import { CLIENT_LIMITS } from './limits';

export interface BrokerRoute {
  brokerName: string;
  endpoint: string;
  readable: boolean;
  writable: boolean;
  /** Writable in the route offered to the client's zone (brokers of that zone while one is writable). */
  preferred: boolean;
  /** Queue ids this broker lists for the topic. */
  queueIds: number[];
}

interface Entry {
  brokers: BrokerRoute[];
  fetchedAtMs: number;
}

export class RouteCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<BrokerRoute[]>>();

  constructor(
    private readonly connections: Connections,
    private readonly accessPoints: readonly string[],
    private readonly namespace: string,
    private readonly refreshMs: number = CLIENT_LIMITS.routeRefreshMs,
  ) {}

  /** The topic's brokers; the first call for a topic waits for QueryRoute. */
  async brokers(topic: string): Promise<BrokerRoute[]> {
    const entry = this.entries.get(topic);
    if (!entry) return this.refresh(topic);
    if (this.connections.clock.nowMs() - entry.fetchedAtMs > this.refreshMs) void this.refresh(topic).catch(() => undefined);
    return entry.brokers;
  }

  /** Asks again now (after a send found the route stale); concurrent callers share one query. */
  refresh(topic: string): Promise<BrokerRoute[]> {
    let refreshing = this.inFlight.get(topic);
    if (!refreshing) {
      refreshing = this.query(topic)
        .then((brokers) => {
          this.entries.set(topic, { brokers, fetchedAtMs: this.connections.clock.nowMs() });
          return brokers;
        })
        .finally(() => this.inFlight.delete(topic));
      this.inFlight.set(topic, refreshing);
    }
    return refreshing;
  }

  /** Every broker endpoint known from any route, then the access points. */
  knownEndpoints(): string[] {
    const known = [...this.entries.values()].flatMap((entry) => entry.brokers.map((broker) => broker.endpoint));
    return [...new Set([...known, ...this.accessPoints])];
  }

  /** With a zone, two views: every broker (the fallback) and the zone's (the preference). */
  private async query(topic: string): Promise<BrokerRoute[]> {
    if (!this.connections.zone) return this.queryOnce(topic, false);
    const [all, zoned] = await Promise.all([this.queryOnce(topic, false), this.queryOnce(topic, true)]);
    const preferred = new Set(zoned.filter((broker) => broker.writable).map((broker) => broker.brokerName));
    return all.map((broker) => ({ ...broker, preferred: preferred.has(broker.brokerName) }));
  }

  private async queryOnce(topic: string, withZone: boolean): Promise<BrokerRoute[]> {
    let lastError: unknown;
    for (const endpoint of [...new Set([...this.accessPoints, ...this.knownEndpoints()])]) {
      try {
        const reply = await this.connections.to(endpoint).queryRoute(
          { topic: { name: topic, resourceNamespace: this.namespace } },
          { metadata: this.connections.metadata(withZone), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
        );
        if (!isOk(reply.status)) throw ClientError.of(reply.status, `route of topic ${topic}`);
        return brokersOf(reply.messageQueues);
      } catch (error) {
        if (error instanceof ClientError) throw error; // the broker answered: the topic itself is the problem
        lastError = error;
      }
    }
    throw new ClientError('TRANSPORT', `no broker answered the route query for topic ${topic}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }
}

/**
 * One entry per broker group: the master's endpoint (route broker id 0) and queues. A route also
 * lists each slave as a queue-0 entry of its group (a door to the master for clients that isolate
 * endpoints); while a group has no master listed, its first slave stands in.
 */
function brokersOf(queues: v2.MessageQueue[]): BrokerRoute[] {
  const brokers = new Map<string, BrokerRoute & { fromMaster: boolean }>();
  for (const queue of queues) {
    const name = queue.broker?.name ?? '';
    const address = queue.broker?.endpoints?.addresses[0];
    if (!name || !address) continue;
    const fromMaster = queue.broker?.id === 0;
    let broker = brokers.get(name);
    if (!broker || (fromMaster && !broker.fromMaster)) {
      brokers.set(name, (broker = { brokerName: name, endpoint: `${address.host}:${address.port}`, readable: false, writable: false, preferred: false, queueIds: [], fromMaster }));
    }
    if (broker.fromMaster !== fromMaster) continue;
    broker.readable ||= queue.permission === v2.Permission.READ || queue.permission === v2.Permission.READ_WRITE;
    broker.writable ||= queue.permission === v2.Permission.WRITE || queue.permission === v2.Permission.READ_WRITE;
    broker.preferred = broker.writable;
    if (!broker.queueIds.includes(queue.id)) broker.queueIds.push(queue.id);
  }
  return [...brokers.values()].map(({ fromMaster: _fromMaster, ...broker }) => broker);
}
