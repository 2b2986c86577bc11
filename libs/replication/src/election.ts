// The controller's decisions for one replica group: registering brokers, noticing a dead or
// restarted master, electing its successor. Pure: no I/O, no clock reads (time is `nowMs`).
// Rules: a new master comes from the live in-sync set unless unclean elections are allowed; every
// election takes an epoch above any the group or a live broker has seen, so no epoch is issued
// twice; nothing is elected while the caller says liveness is not known yet (grace period).
import { RmqError } from '@rmq/base';
import { REPLICATION_LIMITS } from './limits';
import { assertGroup, assertTransition, memberOf, type BrokerLiveness, type BrokerReport, type ReplicaGroup } from './replica-group';

export interface ElectionPolicy {
  brokerTimeoutMs: number;
  /** Elect a live broker outside the in-sync set when no in-sync one is alive (may lose acknowledged messages). */
  uncleanElectionAllowed: boolean;
}

/** The leader's memory of the group's brokers, by broker id. */
export type LivenessView = ReadonlyMap<number, BrokerLiveness>;

export type ElectionDecision =
  | { kind: 'none' }
  | { kind: 'elected'; group: ReplicaGroup; previousMasterBrokerId: number; unclean: boolean; reason: 'masterDead' | 'masterRestarted' }
  | { kind: 'noCandidate'; reason: 'masterDead' | 'masterRestarted' };

export function isAlive(liveness: BrokerLiveness | undefined, nowMs: number, brokerTimeoutMs: number): liveness is BrokerLiveness {
  return liveness !== undefined && nowMs - liveness.lastHeartbeatMs <= brokerTimeoutMs;
}

/**
 * Adds a reporting broker to its group (or creates the group, with that broker as master in the
 * epoch after any it has seen). Returns the same object when nothing durable changed.
 */
export function registerBroker(group: ReplicaGroup | undefined, report: BrokerReport): ReplicaGroup {
  if (group === undefined) {
    const created: ReplicaGroup = {
      clusterName: report.clusterName,
      brokerName: report.brokerName,
      epoch: report.epoch + 1,
      masterBrokerId: report.brokerId,
      masterIncarnation: report.incarnation,
      inSyncBrokerIds: [report.brokerId],
      inSyncSetVersion: 1,
      members: [{ brokerId: report.brokerId, endpoint: report.endpoint }],
    };
    assertGroup(created);
    return created;
  }
  if (group.clusterName !== report.clusterName) {
    throw new RmqError('BAD_REQUEST', {
      reason: `broker group ${report.brokerName} belongs to cluster ${group.clusterName}, not ${report.clusterName}`,
    });
  }
  const known = memberOf(group, report.brokerId);
  if (known?.endpoint === report.endpoint) return group;
  if (!known && group.members.length >= REPLICATION_LIMITS.brokersPerGroupMax) {
    throw new RmqError('BAD_REQUEST', {
      reason: `broker group ${report.brokerName} already has ${REPLICATION_LIMITS.brokersPerGroupMax} brokers, the most it takes`,
    });
  }
  const members = [...group.members.filter((member) => member.brokerId !== report.brokerId), { brokerId: report.brokerId, endpoint: report.endpoint }]
    .sort((a, b) => a.brokerId - b.brokerId);
  const updated = { ...group, members };
  assertTransition(group, updated);
  return updated;
}

/** Records where the master's log starts in this epoch, the first time the master reports it. */
export function recordEpochStart(group: ReplicaGroup, report: BrokerReport): ReplicaGroup {
  const isCurrentMaster = report.brokerId === group.masterBrokerId && report.incarnation === group.masterIncarnation;
  if (!isCurrentMaster || report.role !== 'master' || report.epoch !== group.epoch || group.epochStartLogOffset !== undefined) return group;
  return { ...group, epochStartLogOffset: report.epochStartLogOffset };
}

/** Why the master must be replaced, if it must: no heartbeat within the timeout, or a new process. */
export function masterDownReason(group: ReplicaGroup, liveness: LivenessView, nowMs: number, brokerTimeoutMs: number): 'masterDead' | 'masterRestarted' | undefined {
  const master = liveness.get(group.masterBrokerId);
  if (!isAlive(master, nowMs, brokerTimeoutMs)) return 'masterDead';
  if (master.report.incarnation !== group.masterIncarnation) return 'masterRestarted';
  return undefined;
}

/**
 * When the master is dead or restarted, elects the live candidate with the longest log (ties: the
 * lowest broker id) in a new epoch, with an in-sync set of just itself: the other replicas rejoin
 * as they catch up with it. A restarted master is a candidate like any in-sync broker.
 * The caller must not call this during a new leader's grace period (liveness is not known yet).
 */
export function decideElection(group: ReplicaGroup, liveness: LivenessView, nowMs: number, policy: ElectionPolicy): ElectionDecision {
  const reason = masterDownReason(group, liveness, nowMs, policy.brokerTimeoutMs);
  if (reason === undefined) return { kind: 'none' };
  const alive = group.members
    .map((member) => liveness.get(member.brokerId))
    .filter((entry): entry is BrokerLiveness => isAlive(entry, nowMs, policy.brokerTimeoutMs) && entry.report.brokerName === group.brokerName);
  const byLongestLog = (a: BrokerLiveness, b: BrokerLiveness) =>
    b.report.logEndOffset - a.report.logEndOffset || a.report.brokerId - b.report.brokerId;
  const clean = alive.filter((entry) => group.inSyncBrokerIds.includes(entry.report.brokerId)).sort(byLongestLog);
  const unclean = policy.uncleanElectionAllowed ? alive.filter((entry) => !clean.includes(entry)).sort(byLongestLog) : [];
  const chosen = clean[0] ?? unclean[0];
  if (chosen === undefined) return { kind: 'noCandidate', reason };
  const epoch = Math.max(group.epoch, ...alive.map((entry) => entry.report.epoch)) + 1;
  const elected: ReplicaGroup = {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    epoch,
    masterBrokerId: chosen.report.brokerId,
    masterIncarnation: chosen.report.incarnation,
    inSyncBrokerIds: [chosen.report.brokerId],
    inSyncSetVersion: group.inSyncSetVersion + 1,
    members: group.members,
  };
  assertTransition(group, elected);
  return { kind: 'elected', group: elected, previousMasterBrokerId: group.masterBrokerId, unclean: clean[0] === undefined, reason };
}
