// The highly available store: controller state in etcd, one key per group, and leadership by
// etcd election (a lease-bound key per candidate; the oldest leads). Every write is a transaction
// that also checks this controller's own election key still exists: after its lease expired
// (dead, paused or cut off from etcd's majority) the old leader's write cannot commit, so two
// controllers can never both change a group. Without an etcd majority nothing commits at all.
import { performance } from 'node:perf_hooks';
import { withTimeout } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import type { ReplicaGroup } from '@rmq/replication';
import { Election, Etcd3, type Campaign, type IOptions, type Namespace } from 'etcd3';
import { ElectionWatch } from './election-watch';
import { ETCD_CALL_TIMEOUT_MS, ETCD_CAMPAIGN_RETRY_MS, ETCD_LEADER_LEASE_TTL_S, ETCD_WATCH_RETRY_MS, LEADER_VERIFY_INTERVAL_MS } from './limits';
import { decodeGroupRecord, encodeGroup } from './state-codec';
import type { CasResult, Leadership, LeadershipListener, StateStore, VersionedGroup } from './state-store';

export function connectEtcd(hosts: readonly string[]): Etcd3 {
  return new Etcd3({ hosts: hosts.map((host) => `http://${host}`), dialTimeout: ETCD_CALL_TIMEOUT_MS, faultHandling: { watchBackoff } });
}

/** etcd3's watch manager waits this long before each new try to open a lost watch stream. */
const watchBackoff: WatchBackoff = { duration: ETCD_WATCH_RETRY_MS, next: () => watchBackoff };
type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

export class EtcdLeadership implements Leadership {
  private readonly election: Election;
  /** The election's own keys (one per candidate), as etcd3's Election names them. */
  private readonly electionKeys: Namespace;
  private campaign: Campaign | undefined;
  private watch: ElectionWatch | undefined;
  private leading = false;
  /** When etcd last showed this leader's election key (monotonic ms): the leader's own lease on answering. */
  private confirmedAtMs = 0;
  private verifyTimer: NodeJS.Timeout | undefined;
  private campaignKey: string | undefined;
  private observedLeader: string | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private observeTimer: NodeJS.Timeout | undefined;
  private listener: LeadershipListener | undefined;
  /** Problems already logged in the current outage: etcd unreachable is logged once, not twice a second. */
  private readonly logged = new Set<'campaign' | 'observe'>();

  constructor(
    private readonly client: Etcd3,
    prefix: string,
    private readonly endpoint: string,
    private readonly log: Logger,
  ) {
    const space = client.namespace(`${prefix}/`);
    this.election = space.election('leader', ETCD_LEADER_LEASE_TTL_S);
    this.electionKeys = space.namespace(`${Election.prefix}/leader/`);
  }

  /** Never fails: while etcd cannot be reached, this controller follows nobody and keeps trying. */
  async start(listener: LeadershipListener): Promise<void> {
    this.listener = listener;
    listener.onFollowing(undefined);
    this.runCampaign();
    await this.observe();
  }

  /**
   * Leading, and etcd showed this controller's election key within the lease TTL. Without the
   * second half a controller whose lease ran out while it was paused or cut off would answer
   * brokers from its memory until its campaign noticed (its writes would fail anyway).
   */
  isLeader(): boolean {
    return this.leading && performance.now() - this.confirmedAtMs < ETCD_LEADER_LEASE_TTL_S * 1_000;
  }

  leaderEndpoint(): string | undefined {
    return this.leading ? this.endpoint : this.observedLeader;
  }

  /** This controller's election key while it leads: the store's transactions require it to exist. */
  fenceKey(): string | undefined {
    return this.leading ? this.campaignKey : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.observeTimer);
    clearInterval(this.verifyTimer);
    this.step('down');
    await Promise.allSettled([
      this.campaign ? withTimeout(this.campaign.resign(), ETCD_CALL_TIMEOUT_MS, 'resigning the etcd election') : undefined,
      this.watch?.stop(),
    ]);
  }

  /** Watches who leads; after a failure, watches again (every ETCD_CAMPAIGN_RETRY_MS) until closed. */
  private async observe(): Promise<void> {
    const watch = new ElectionWatch(this.electionKeys, {
      onLeader: (leader) => {
        if (this.watch !== watch) return;
        this.observedLeader = leader;
        if (!this.leading) this.listener?.onFollowing(leader);
      },
      onError: (error) => this.watchAgainLater(watch, 'lost sight of the controller election; watching again', error),
    });
    this.watch = watch;
    let leader: string | undefined;
    try {
      leader = await watch.start();
    } catch (error) {
      this.watchAgainLater(watch, 'cannot watch the controller election; trying again every 500 ms', error);
      return;
    }
    if (this.watch !== watch || this.closed) return; // replaced, or closed while it started
    this.logged.delete('observe');
    this.observedLeader = leader;
    if (!this.leading) this.listener?.onFollowing(leader);
  }

  private watchAgainLater(watch: ElectionWatch, message: string, error: unknown): void {
    if (this.watch !== watch) return; // already replaced: one retry per failed watch
    this.watch = undefined;
    this.observedLeader = undefined;
    void watch.stop();
    this.warnOnce('observe', message, error);
    if (!this.closed) this.observeTimer = setTimeout(() => void this.observe(), ETCD_CAMPAIGN_RETRY_MS);
  }

  private runCampaign(): void {
    if (this.closed) return;
    const campaign = this.election.campaign(this.endpoint);
    this.campaign = campaign;
    campaign.on('elected', () => {
      campaign.getCampaignKey().then(
        (key) => {
          if (this.campaign !== campaign || this.closed) return;
          this.campaignKey = key;
          this.logged.delete('campaign');
          this.confirmedAtMs = performance.now();
          this.step('up');
          this.verifyTimer = setInterval(() => void this.verify(campaign, key), LEADER_VERIFY_INTERVAL_MS);
        },
        (error: unknown) => campaign.emit('error', error instanceof Error ? error : new Error(String(error))),
      );
    });
    campaign.on('error', (error) => {
      if (this.campaign !== campaign) return;
      this.warnOnce('campaign', 'controller election campaign failed; campaigning again every 500 ms', error);
      this.step('down');
      clearInterval(this.verifyTimer);
      this.campaign = undefined;
      void campaign.resign().catch(() => undefined);
      if (!this.closed) this.retryTimer = setTimeout(() => this.runCampaign(), ETCD_CAMPAIGN_RETRY_MS);
    });
  }

  /** Reads this leader's election key: present, the lease holds; gone, another controller may lead. */
  private async verify(campaign: Campaign, key: string): Promise<void> {
    const startedAtMs = performance.now();
    let found: boolean;
    try {
      found = (await withTimeout(this.client.get(key).exec(), ETCD_CALL_TIMEOUT_MS, 'reading the election key')).kvs.length > 0;
    } catch {
      return; // unknown: isLeader() turns false by itself once the last confirmation is a TTL old
    }
    if (this.campaign !== campaign) return;
    if (found) {
      this.confirmedAtMs = Math.max(this.confirmedAtMs, startedAtMs);
      return;
    }
    campaign.emit('error', new Error('this controller\'s election key is gone: its lease expired'));
  }

  private warnOnce(what: 'campaign' | 'observe', message: string, error: unknown): void {
    if (this.logged.has(what)) return;
    this.logged.add(what);
    this.log.warn(message, { error: String(error) });
  }

  private step(direction: 'up' | 'down'): void {
    if (direction === 'up' && !this.leading) {
      this.leading = true;
      this.listener?.onLeading();
    } else if (direction === 'down' && this.leading) {
      this.leading = false;
      this.campaignKey = undefined;
      this.listener?.onFollowing(undefined);
    }
  }
}

export class EtcdStateStore implements StateStore {
  readonly kind = 'etcd';

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly leadership: EtcdLeadership,
  ) {}

  async load(): Promise<VersionedGroup[]> {
    const response = await withTimeout(this.client.getAll().prefix(this.groupKey('')).exec(), ETCD_CALL_TIMEOUT_MS, 'reading the groups from etcd');
    return response.kvs.map((kv) => ({
      group: decodeGroupRecord(kv.value.toString('utf8'), `etcd key ${kv.key.toString('utf8')}`),
      revision: kv.mod_revision,
    }));
  }

  async compareAndSet(group: ReplicaGroup, expectedRevision: string | undefined): Promise<CasResult> {
    const fence = this.leadership.fenceKey();
    if (fence === undefined) return { ok: false, current: undefined, leadershipLost: true };
    const key = this.groupKey(group.brokerName);
    const guard = expectedRevision === undefined ? this.client.if(key, 'Create', '==', 0) : this.client.if(key, 'Mod', '==', expectedRevision);
    const result = await withTimeout(
      guard
        .and(fence, 'Create', '>', 0)
        .then(this.client.put(key).value(encodeGroup(group)))
        .else(this.client.get(key), this.client.get(fence))
        .commit(),
      ETCD_CALL_TIMEOUT_MS,
      `writing group ${group.brokerName} to etcd`,
    );
    if (result.succeeded) return { ok: true, revision: result.header.revision };
    const [groupRange, fenceRange] = result.responses.map((response) => response.response_range?.kvs ?? []);
    const kv = groupRange[0];
    const current = kv ? { group: decodeGroupRecord(kv.value.toString('utf8'), `etcd key ${key}`), revision: kv.mod_revision } : undefined;
    return { ok: false, current, leadershipLost: fenceRange.length === 0 };
  }

  async close(): Promise<void> {}

  private groupKey(brokerName: string): string {
    return `${this.prefix}/groups/${brokerName}`;
  }
}
