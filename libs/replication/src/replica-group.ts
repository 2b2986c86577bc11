// The words of replication shared by the controller and the brokers: a replica group as the
// controller persists it, what brokers report, and the assignment a broker is told.
// Durable state (ReplicaGroup) and liveness (BrokerReport, in the leader's memory only) are apart
// on purpose: only the first goes through the compare-and-set store.
import { assert } from '@rmq/base';

export type ReplicaRole = 'master' | 'slave';

export interface GroupMember {
  brokerId: number;
  /** host:port where clients and slaves reach the broker. */
  endpoint: string;
}

/** One group's durable state: what the controller persists with every change. */
export interface ReplicaGroup {
  clusterName: string;
  brokerName: string;
  /** Epoch of the current master; only grows; one master per epoch, ever. */
  epoch: number;
  masterBrokerId: number;
  /** The master's process (its incarnation) when it was elected: another one means it restarted. */
  masterIncarnation: string;
  /** Sorted; always contains the master. */
  inSyncBrokerIds: readonly number[];
  /** Bumped on every change of the in-sync set, so a master's change names what it changes. */
  inSyncSetVersion: number;
  /** Where the master's log starts in this epoch, once it has reported it. */
  epochStartLogOffset?: number;
  /** Every broker that ever registered, sorted by broker id. */
  members: readonly GroupMember[];
}

/** How far one slave has the master's log, as the master reports it. */
export interface SlaveProgress {
  brokerId: number;
  /** The slave has every byte below this offset (fdatasynced in sync mode). */
  ackedLogOffset: number;
  /** Milliseconds since the slave last reached the master's log end; 0 when it is there now. */
  behindMs: number;
}

/** What a broker says in a heartbeat. */
export interface BrokerReport {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  endpoint: string;
  /** Random per process start. */
  incarnation: string;
  role: ReplicaRole;
  /** The newest epoch in the broker's epoch file (0 if none). */
  epoch: number;
  epochStartLogOffset: number;
  logEndOffset: number;
  confirmedLogOffset: number;
  /** Sent by a master only. */
  slaves: readonly SlaveProgress[];
}

/** A report and when the controller received it (the leader's clock). */
export interface BrokerLiveness {
  report: BrokerReport;
  lastHeartbeatMs: number;
}

/** What one broker is told: the group's assignment as far as it is concerned. */
export interface Assignment {
  clusterName: string;
  brokerName: string;
  role: ReplicaRole;
  epoch: number;
  masterBrokerId: number;
  masterEndpoint: string;
  /** False when the master is dead and no candidate could replace it: do not follow it. */
  masterAlive: boolean;
  inSyncBrokerIds: readonly number[];
  inSyncSetVersion: number;
  epochStartLogOffset?: number;
}

export function memberOf(group: ReplicaGroup, brokerId: number): GroupMember | undefined {
  return group.members.find((member) => member.brokerId === brokerId);
}

export function masterEndpointOf(group: ReplicaGroup): string {
  const master = memberOf(group, group.masterBrokerId);
  assert(master, 'the master is a member of its group', { brokerName: group.brokerName, masterBrokerId: group.masterBrokerId });
  return master.endpoint;
}

export function assignmentFor(group: ReplicaGroup, brokerId: number, masterAlive: boolean): Assignment {
  return {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    role: brokerId === group.masterBrokerId && masterAlive ? 'master' : 'slave',
    epoch: group.epoch,
    masterBrokerId: group.masterBrokerId,
    masterEndpoint: masterEndpointOf(group),
    masterAlive,
    inSyncBrokerIds: group.inSyncBrokerIds,
    inSyncSetVersion: group.inSyncSetVersion,
    ...(group.epochStartLogOffset === undefined ? {} : { epochStartLogOffset: group.epochStartLogOffset }),
  };
}

/** Shape rules of one group, checked on every transition and on whatever is loaded from a store. */
export function assertGroup(group: ReplicaGroup): void {
  const details = { brokerName: group.brokerName, masterBrokerId: group.masterBrokerId, inSync: group.inSyncBrokerIds };
  assert(Number.isSafeInteger(group.epoch) && group.epoch >= 1, 'the epoch is a positive integer', { ...details, epoch: group.epoch });
  assert(Number.isSafeInteger(group.inSyncSetVersion) && group.inSyncSetVersion >= 1, 'the in-sync set version is a positive integer', details);
  assert(group.inSyncBrokerIds.includes(group.masterBrokerId), 'the master is in the in-sync set', details);
  assert(isSortedUnique(group.inSyncBrokerIds), 'the in-sync set is sorted without repeats', details);
  assert(isSortedUnique(group.members.map((member) => member.brokerId)), 'members are sorted by broker id without repeats', details);
  for (const id of group.inSyncBrokerIds) assert(memberOf(group, id) !== undefined, 'every in-sync broker is a member', { ...details, brokerId: id });
}

/** The rules between two successive states of a group; a violation is a bug and stops the process. */
export function assertTransition(before: ReplicaGroup, after: ReplicaGroup): void {
  assertGroup(after);
  const details = { brokerName: after.brokerName, epochBefore: before.epoch, epochAfter: after.epoch };
  assert(after.epoch >= before.epoch, 'the epoch never goes back', details);
  assert(after.inSyncSetVersion >= before.inSyncSetVersion, 'the in-sync set version never goes back', details);
  if (after.epoch !== before.epoch) return; // a new epoch: checked by the election that made it
  assert(after.masterBrokerId === before.masterBrokerId, 'one master per epoch', { ...details, before: before.masterBrokerId, after: after.masterBrokerId });
  assert(after.masterIncarnation === before.masterIncarnation, 'one master process per epoch', details);
  if (!sameIds(after.inSyncBrokerIds, before.inSyncBrokerIds)) {
    assert(after.inSyncSetVersion > before.inSyncSetVersion, 'a changed in-sync set has a new version', details);
  }
  for (const member of before.members) {
    assert(memberOf(after, member.brokerId) !== undefined, 'members are never forgotten', { ...details, brokerId: member.brokerId });
  }
}

export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

export function sortedIds(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function isSortedUnique(ids: readonly number[]): boolean {
  return ids.every((id, index) => index === 0 || ids[index - 1] < id);
}
