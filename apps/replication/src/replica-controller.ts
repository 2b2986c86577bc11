// The controller's stateful shell around the pure rules of @rmq/replication: while this process
// leads, it keeps the groups (as committed, with their store revision) and the brokers' liveness
// (memory only), feeds heartbeats and scans to the rules, and commits every change through the
// store's compare-and-set before it answers. Changes of one group are serialised. A new leader
// elects nobody for one broker timeout (the grace period): it has not heard from anyone yet, and
// a controller restart must never make a live master look dead. A broken invariant, or a file
// store that cannot write, goes to `onFatal` (the process stops) instead of being answered.
import { InvariantError, RmqError, type Clock } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import {
  REPLICATION_LIMITS,
  applyInSyncChange,
  assignmentFor,
  decideElection,
  isAlive,
  masterDownReason,
  recordEpochStart,
  registerBroker,
  type Assignment,
  type BrokerLiveness,
  type BrokerReport,
  type ElectionPolicy,
  type InSyncChange,
  type ReplicaGroup,
  type SlaveProgress,
} from '@rmq/replication';
import type { Leadership, LeadershipListener, StateStore, VersionedGroup } from './state-store';

/** RocketMQ's controller election results (ControllerMetricsConstant.ElectionResult). */
export type ElectionResult = 'new_master_elected' | 'no_master_elected';
export type ElectionListener = (group: ReplicaGroup, result: ElectionResult) => void;

export interface BrokerView {
  brokerId: number;
  endpoint: string;
  liveness: BrokerLiveness | undefined;
  alive: boolean;
  inSync: boolean;
  /** The master's last word on this slave. */
  progress: SlaveProgress | undefined;
}

export interface GroupView {
  group: ReplicaGroup;
  masterAlive: boolean;
  brokers: BrokerView[];
}

export interface ReplicaControllerOptions {
  /** Names this controller in errors (its endpoint). */
  controllerId: string;
  store: StateStore;
  leadership: Leadership;
  clock: Clock;
  policy: ElectionPolicy;
  log: Logger;
  onFatal: (error: Error) => void;
}

const COMMIT_ATTEMPTS_MAX = 2;

export class ReplicaController implements LeadershipListener {
  private readonly groupsByName = new Map<string, VersionedGroup>();
  private readonly livenessByGroup = new Map<string, Map<number, BrokerLiveness>>();
  /** Groups whose last write had an unknown outcome (timeout): read again before use. */
  private readonly stale = new Set<string>();
  /** Groups whose master is down with no candidate: reported once per episode. */
  private readonly leaderless = new Set<string>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly listeners: ElectionListener[] = [];
  private leaderSinceMs: number | undefined;
  private loaded: Promise<void> | undefined;
  private term = 0;

  constructor(private readonly options: ReplicaControllerOptions) {}

  onElection(listener: ElectionListener): void {
    this.listeners.push(listener);
  }

  // LeadershipListener: a new term starts empty-handed, loads the committed groups, and waits.
  onLeading(): void {
    this.term += 1;
    this.leaderSinceMs = this.options.clock.nowMs();
    this.livenessByGroup.clear();
    this.leaderless.clear();
    this.loaded = this.load(this.term);
    this.loaded.catch((error: unknown) => this.options.log.warn('could not load the controller state; retrying on the next request', { error: String(error) }));
    this.options.log.info('leading the controllers', { store: this.options.store.kind, gracePeriodMs: this.options.policy.brokerTimeoutMs });
  }

  onFollowing(leaderEndpoint: string | undefined): void {
    if (this.leaderSinceMs !== undefined) this.options.log.info('no longer leading the controllers', { leader: leaderEndpoint });
    this.term += 1;
    this.leaderSinceMs = undefined;
    this.loaded = undefined;
    this.groupsByName.clear();
    this.livenessByGroup.clear();
  }

  isLeader(): boolean {
    return this.leaderSinceMs !== undefined && this.options.leadership.isLeader();
  }

  inGracePeriod(nowMs = this.options.clock.nowMs()): boolean {
    return this.leaderSinceMs !== undefined && nowMs - this.leaderSinceMs < this.options.policy.brokerTimeoutMs;
  }

  groups(): readonly ReplicaGroup[] {
    return [...this.groupsByName.values()].map((versioned) => versioned.group);
  }

  aliveBrokerCount(group: ReplicaGroup, nowMs = this.options.clock.nowMs()): number {
    const liveness = this.livenessByGroup.get(group.brokerName);
    return group.members.filter((member) => isAlive(liveness?.get(member.brokerId), nowMs, this.options.policy.brokerTimeoutMs)).length;
  }

  async heartbeat(report: BrokerReport): Promise<Assignment> {
    await this.ready();
    if (!this.groupsByName.has(report.brokerName) && this.groupsByName.size >= REPLICATION_LIMITS.groupsMax) {
      throw new RmqError('BAD_REQUEST', { reason: `this controller already tracks ${REPLICATION_LIMITS.groupsMax} broker groups, the most it takes` });
    }
    const nowMs = this.options.clock.nowMs();
    this.livenessOf(report.brokerName).set(report.brokerId, { report, lastHeartbeatMs: nowMs });
    return this.serialized(report.brokerName, () =>
      this.change(report.brokerName, (current) => {
        const registered = recordEpochStart(registerBroker(current, report), report);
        return this.electIfNeeded(registered, nowMs);
      }, (group) => assignmentFor(group, report.brokerId, this.masterAlive(group, nowMs))),
    );
  }

  async alterInSyncSet(brokerName: string, change: InSyncChange): Promise<Assignment> {
    await this.ready();
    return this.serialized(brokerName, () =>
      this.change(brokerName, (current) => {
        if (!current) throw new RmqError('NOT_FOUND', { what: 'replica group', name: brokerName });
        const nowMs = this.options.clock.nowMs();
        const liveness = this.livenessOf(brokerName);
        return applyInSyncChange(current, change, (id) => isAlive(liveness.get(id), nowMs, this.options.policy.brokerTimeoutMs));
      }, (group) => assignmentFor(group, change.masterBrokerId, this.masterAlive(group, this.options.clock.nowMs()))),
    );
  }

  /** Looks for dead or restarted masters in every group; called on an interval. */
  async scan(): Promise<void> {
    if (!this.isLeader() || this.inGracePeriod()) return;
    await this.ready();
    await Promise.all(
      [...this.groupsByName.keys()].map((name) =>
        this.serialized(name, () => this.change(name, (current) => (current ? this.electIfNeeded(current, this.options.clock.nowMs()) : current), () => undefined)),
      ),
    );
  }

  async view(brokerName: string): Promise<GroupView> {
    await this.ready();
    const versioned = this.groupsByName.get(brokerName);
    if (!versioned) throw new RmqError('NOT_FOUND', { what: 'replica group', name: brokerName });
    return this.viewOf(versioned.group, this.options.clock.nowMs());
  }

  async views(): Promise<GroupView[]> {
    await this.ready();
    const nowMs = this.options.clock.nowMs();
    return this.groups()
      .map((group) => this.viewOf(group, nowMs))
      .sort((a, b) => (a.group.brokerName < b.group.brokerName ? -1 : a.group.brokerName > b.group.brokerName ? 1 : 0));
  }

  private viewOf(group: ReplicaGroup, nowMs: number): GroupView {
    const liveness = this.livenessByGroup.get(group.brokerName);
    const master = liveness?.get(group.masterBrokerId);
    const progressById = new Map((master?.report.slaves ?? []).map((progress) => [progress.brokerId, progress]));
    return {
      group,
      masterAlive: this.masterAlive(group, nowMs),
      brokers: group.members.map((member) => {
        const entry = liveness?.get(member.brokerId);
        return {
          brokerId: member.brokerId,
          endpoint: member.endpoint,
          liveness: entry,
          alive: isAlive(entry, nowMs, this.options.policy.brokerTimeoutMs),
          inSync: group.inSyncBrokerIds.includes(member.brokerId),
          progress: member.brokerId === group.masterBrokerId ? undefined : progressById.get(member.brokerId),
        };
      }),
    };
  }

  /** During the grace period a master not heard from yet counts as alive; a restarted one never does. */
  private masterAlive(group: ReplicaGroup, nowMs: number): boolean {
    const reason = masterDownReason(group, this.livenessOf(group.brokerName), nowMs, this.options.policy.brokerTimeoutMs);
    return reason === undefined || (reason === 'masterDead' && this.inGracePeriod(nowMs));
  }

  private electIfNeeded(group: ReplicaGroup, nowMs: number): ReplicaGroup {
    // In the grace period silence proves nothing, but a master's new incarnation proves its old
    // process is gone: that election needs no liveness (so a restarted lone broker serves at once).
    const reason = masterDownReason(group, this.livenessOf(group.brokerName), nowMs, this.options.policy.brokerTimeoutMs);
    if (this.inGracePeriod(nowMs) && reason !== 'masterRestarted') return group;
    const decision = decideElection(group, this.livenessOf(group.brokerName), nowMs, this.options.policy);
    if (decision.kind === 'none') this.leaderless.delete(group.brokerName);
    if (decision.kind === 'noCandidate' && !this.leaderless.has(group.brokerName)) {
      this.leaderless.add(group.brokerName);
      this.options.log.warn('master is down and no in-sync broker is alive; electing nobody rather than an out-of-sync one', {
        brokerName: group.brokerName, master: group.masterBrokerId, epoch: group.epoch, inSync: group.inSyncBrokerIds, reason: decision.reason,
      });
      this.emit(group, 'no_master_elected');
    }
    return decision.kind === 'elected' ? decision.group : group;
  }

  /**
   * Computes a group's next state from its committed one and commits it (compare-and-set) when it
   * differs; retries once on a conflict with what the store then holds. Returns `answer(group)`
   * for the committed state.
   */
  private async change<T>(brokerName: string, decide: (current: ReplicaGroup | undefined) => ReplicaGroup | undefined, answer: (group: ReplicaGroup) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const term = this.term;
      const current = await this.fresh(brokerName);
      const next = this.guard(() => decide(current?.group));
      if (next === undefined) return undefined as T;
      if (next === current?.group) return answer(next);
      let result;
      try {
        result = await this.options.store.compareAndSet(next, current?.revision);
      } catch (error) {
        this.stale.add(brokerName);
        if (this.options.store.kind === 'file') this.options.onFatal(error as Error);
        throw new RmqError('CONTROLLER_STORE_UNAVAILABLE', { reason: error instanceof Error ? error.message : String(error) });
      }
      if (result.ok) {
        if (term === this.term) this.groupsByName.set(brokerName, { group: next, revision: result.revision });
        this.committed(current?.group, next);
        return answer(next);
      }
      if (result.leadershipLost) {
        // etcd says another controller leads (our lease is gone) before our campaign noticed: stop answering now.
        this.onFollowing(this.options.leadership.leaderEndpoint());
        throw this.notLeader();
      }
      if (result.current) this.groupsByName.set(brokerName, result.current);
      else this.groupsByName.delete(brokerName);
      if (attempt >= COMMIT_ATTEMPTS_MAX) {
        throw new RmqError('CONTROLLER_STORE_UNAVAILABLE', { reason: `group ${brokerName} kept changing under this controller` });
      }
    }
  }

  private committed(before: ReplicaGroup | undefined, after: ReplicaGroup): void {
    if (before !== undefined && before.epoch === after.epoch) {
      if (before.inSyncSetVersion !== after.inSyncSetVersion) {
        this.options.log.info('in-sync set changed', { brokerName: after.brokerName, epoch: after.epoch, inSync: after.inSyncBrokerIds, version: after.inSyncSetVersion });
      }
      return;
    }
    this.leaderless.delete(after.brokerName);
    this.options.log.info('master elected', {
      brokerName: after.brokerName, master: after.masterBrokerId, epoch: after.epoch, previousMaster: before?.masterBrokerId, previousEpoch: before?.epoch,
    });
    this.emit(after, 'new_master_elected');
  }

  private async fresh(brokerName: string): Promise<VersionedGroup | undefined> {
    if (this.stale.has(brokerName)) {
      const all = await storeCall(() => this.options.store.load());
      this.stale.delete(brokerName);
      const found = all.find((versioned) => versioned.group.brokerName === brokerName);
      if (found) this.groupsByName.set(brokerName, found);
      else this.groupsByName.delete(brokerName);
    }
    return this.groupsByName.get(brokerName);
  }

  private async ready(): Promise<void> {
    if (!this.isLeader()) throw this.notLeader();
    try {
      await this.loaded;
    } catch {
      this.loaded = this.load(this.term);
      await storeCall(() => this.loaded!);
    }
    if (!this.isLeader()) throw this.notLeader();
  }

  private async load(term: number): Promise<void> {
    const groups = await this.options.store.load();
    if (term !== this.term) return;
    this.groupsByName.clear();
    for (const versioned of groups) this.groupsByName.set(versioned.group.brokerName, versioned);
    this.options.log.info('controller state loaded', { groups: groups.length });
  }

  private notLeader(): RmqError {
    // Naming itself means it leads but cannot confirm it with etcd right now: no one to redirect to.
    const named = this.options.leadership.leaderEndpoint();
    const leader = named === this.options.controllerId ? undefined : named;
    return new RmqError('NOT_LEADER', {
      controllerId: this.options.controllerId,
      leader: leader ?? '',
      hint: leader ? `the leader is ${leader}` : 'no leader is known yet; try again shortly',
    });
  }

  private livenessOf(brokerName: string): Map<number, BrokerLiveness> {
    let liveness = this.livenessByGroup.get(brokerName);
    if (!liveness) {
      liveness = new Map();
      this.livenessByGroup.set(brokerName, liveness);
    }
    return liveness;
  }

  private serialized<T>(brokerName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(brokerName) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(brokerName, next);
    void next.catch(() => undefined).finally(() => {
      if (this.queues.get(brokerName) === next) this.queues.delete(brokerName);
    });
    return next;
  }

  private guard<T>(decision: () => T): T {
    try {
      return decision();
    } catch (error) {
      if (error instanceof InvariantError) this.options.onFatal(error);
      throw error;
    }
  }

  private emit(group: ReplicaGroup, result: ElectionResult): void {
    for (const listener of this.listeners) listener(group, result);
  }
}

/** A store call whose failure (etcd unreachable, say) the caller sees as the store being unavailable. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new RmqError('CONTROLLER_STORE_UNAVAILABLE', { reason: error instanceof Error ? error.message : String(error) });
  }
}
