// The controller's stateful shell around the pure decisions in replica-groups.ts: holds the
// groups, feeds them heartbeats and scans with the clock's time, persists every change before
// answering, and tells listeners about elections. A broken invariant goes to `onInvariantBroken`
// (the app stops) instead of being answered as an ordinary error.
import { InvariantError, RmqError, type Clock } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import { GROUPS_MAX, REPLICAS_PER_GROUP_MAX } from './limits';
import {
  applyHeartbeat,
  electIfMasterDown,
  isAlive,
  masterOf,
  replicaOf,
  type ElectionOutcome,
  type GroupStep,
  type Heartbeat,
  type ReplicaGroup,
} from './replica-groups';
import type { StateStore } from './state-file';

/** RocketMQ's controller election results (ControllerMetricsConstant.ElectionResult). */
export type ElectionResult = 'new_master_elected' | 'no_master_elected';
export type ElectionListener = (group: ReplicaGroup, result: ElectionResult) => void;

export interface HeartbeatAnswer {
  role: 'master' | 'slave';
  epoch: number;
  masterReplicaId: string;
  masterEndpoint: string;
}

export interface GroupView {
  group: ReplicaGroup;
  aliveReplicaIds: ReadonlySet<string>;
}

export interface ReplicaControllerOptions {
  store: StateStore;
  clock: Clock;
  replicaTimeoutMs: number;
  log: Logger;
  onInvariantBroken: (error: InvariantError) => void;
}

export class ReplicaController {
  private readonly groupsByName = new Map<string, ReplicaGroup>();
  /** Groups whose master is down with no live in-sync replica: counted once per episode. */
  private readonly leaderless = new Set<string>();
  private readonly listeners: ElectionListener[] = [];

  private constructor(private readonly options: ReplicaControllerOptions, groups: ReplicaGroup[]) {
    for (const group of groups) this.groupsByName.set(group.brokerName, group);
  }

  static async open(options: ReplicaControllerOptions): Promise<ReplicaController> {
    return new ReplicaController(options, await options.store.load());
  }

  onElection(listener: ElectionListener): void {
    this.listeners.push(listener);
  }

  groups(): readonly ReplicaGroup[] {
    return [...this.groupsByName.values()];
  }

  aliveReplicaCount(group: ReplicaGroup, nowMs = this.options.clock.nowMs()): number {
    return group.replicas.filter((replica) => isAlive(replica, nowMs, this.options.replicaTimeoutMs)).length;
  }

  async heartbeat(heartbeat: Heartbeat): Promise<HeartbeatAnswer> {
    const existing = this.groupsByName.get(heartbeat.brokerName);
    this.checkRoom(existing, heartbeat);
    const step = this.decide(() => applyHeartbeat(existing, heartbeat, this.options.clock.nowMs(), this.options.replicaTimeoutMs));
    this.take(step);
    await this.options.store.save(this.groups());
    const group = step.group;
    return {
      role: group.masterReplicaId === heartbeat.replicaId ? 'master' : 'slave',
      epoch: group.epoch,
      masterReplicaId: group.masterReplicaId,
      masterEndpoint: masterOf(group).endpoint,
    };
  }

  /** The group as persisted; throws NOT_FOUND for a broker name no replica has reported. */
  async group(brokerName: string): Promise<GroupView> {
    const group = this.groupsByName.get(brokerName);
    if (!group) throw new RmqError('NOT_FOUND', { what: 'replica group', name: brokerName });
    await this.options.store.settled();
    const nowMs = this.options.clock.nowMs();
    const alive = group.replicas.filter((replica) => isAlive(replica, nowMs, this.options.replicaTimeoutMs));
    return { group, aliveReplicaIds: new Set(alive.map((replica) => replica.replicaId)) };
  }

  /** Looks for dead masters in every group; called on an interval. */
  async scan(): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    let changed = false;
    for (const group of this.groups()) {
      const step = this.decide(() => electIfMasterDown(group, nowMs, this.options.replicaTimeoutMs));
      changed = this.take(step) || changed;
    }
    if (changed) await this.options.store.save(this.groups());
  }

  flush(): Promise<void> {
    return this.options.store.settled();
  }

  private checkRoom(existing: ReplicaGroup | undefined, heartbeat: Heartbeat): void {
    if (!existing) {
      if (this.groupsByName.size >= GROUPS_MAX) {
        throw new RmqError('BAD_REQUEST', { reason: `this controller already tracks ${GROUPS_MAX} broker groups, the most it takes` });
      }
      return;
    }
    if (existing.clusterName !== heartbeat.clusterName) {
      throw new RmqError('BAD_REQUEST', {
        reason: `broker group ${heartbeat.brokerName} belongs to cluster ${existing.clusterName}, not ${heartbeat.clusterName}`,
      });
    }
    if (!replicaOf(existing, heartbeat.replicaId) && existing.replicas.length >= REPLICAS_PER_GROUP_MAX) {
      throw new RmqError('BAD_REQUEST', {
        reason: `broker group ${heartbeat.brokerName} already has ${REPLICAS_PER_GROUP_MAX} replicas, the most it takes`,
      });
    }
  }

  /** Stores a step's group and reports its election; returns whether anything changed. */
  private take(step: GroupStep): boolean {
    const { group, election } = step;
    if (step.changed) this.groupsByName.set(group.brokerName, group);
    this.report(group, election);
    return step.changed;
  }

  private report(group: ReplicaGroup, election: ElectionOutcome): void {
    const log = this.options.log;
    switch (election.kind) {
      case 'none':
        this.leaderless.delete(group.brokerName);
        return;
      case 'elected':
        this.leaderless.delete(group.brokerName);
        log.info('master elected', {
          brokerName: group.brokerName,
          master: election.masterReplicaId,
          epoch: election.epoch,
          previousMaster: election.previousMasterReplicaId,
          inSync: group.inSyncReplicaIds,
        });
        this.emit(group, 'new_master_elected');
        return;
      case 'noCandidate':
        if (this.leaderless.has(group.brokerName)) return;
        this.leaderless.add(group.brokerName);
        log.warn('master is down and no in-sync replica is alive; keeping it rather than electing an out-of-sync one', {
          brokerName: group.brokerName,
          master: election.deadMasterReplicaId,
          epoch: group.epoch,
          inSync: group.inSyncReplicaIds,
        });
        this.emit(group, 'no_master_elected');
        return;
    }
  }

  private emit(group: ReplicaGroup, result: ElectionResult): void {
    for (const listener of this.listeners) listener(group, result);
  }

  private decide<T>(decision: () => T): T {
    try {
      return decision();
    } catch (error) {
      if (error instanceof InvariantError) this.options.onInvariantBroken(error);
      throw error;
    }
  }
}
