// The controller's decisions for one broker group (brokerName): who is master, in which epoch,
// and which replicas are in sync. Pure: no I/O, no clock reads; time comes in as nowMs.
// Invariants (asserted on every transition): the epoch never goes back; a new master means
// epoch + 1; the master is always in the in-sync set; a new master comes only from the live
// in-sync set (no unclean election).
import { assert } from '@rmq/base';

export interface Replica {
  replicaId: string;
  endpoint: string;
  /** Log end offset (byte position in the commit log) as last reported by the replica. */
  logEndOffset: number;
  lastHeartbeatMs: number;
}

export interface ReplicaGroup {
  clusterName: string;
  brokerName: string;
  epoch: number;
  masterReplicaId: string;
  /** Sorted replica ids; always contains the master. */
  inSyncReplicaIds: readonly string[];
  /** Sorted by replicaId. */
  replicas: readonly Replica[];
}

export interface Heartbeat {
  clusterName: string;
  brokerName: string;
  replicaId: string;
  endpoint: string;
  logEndOffset: number;
}

export type ElectionOutcome =
  | { kind: 'none' }
  | { kind: 'elected'; masterReplicaId: string; epoch: number; previousMasterReplicaId?: string }
  | { kind: 'noCandidate'; deadMasterReplicaId: string };

export interface GroupStep {
  group: ReplicaGroup;
  election: ElectionOutcome;
  /** False when the step left the group exactly as it was (nothing to persist). */
  changed: boolean;
}

export const REPLICA_TIMEOUT_MS_DEFAULT = 10_000;

/** A replica is alive while its last heartbeat is at most `replicaTimeoutMs` old. */
export function isAlive(replica: Replica, nowMs: number, replicaTimeoutMs: number): boolean {
  return nowMs - replica.lastHeartbeatMs <= replicaTimeoutMs;
}

export function replicaOf(group: ReplicaGroup, replicaId: string): Replica | undefined {
  return group.replicas.find((replica) => replica.replicaId === replicaId);
}

export function masterOf(group: ReplicaGroup): Replica {
  const master = replicaOf(group, group.masterReplicaId);
  assert(master, 'the master is one of the group replicas', { brokerName: group.brokerName, masterReplicaId: group.masterReplicaId });
  return master;
}

/**
 * Records a heartbeat: the first replica of a group becomes master in epoch 1; a replica that
 * has caught up with the master's last reported log end offset joins the in-sync set. Then the
 * group is checked for a dead master, as in `electIfMasterDown`.
 */
export function applyHeartbeat(
  group: ReplicaGroup | undefined,
  heartbeat: Heartbeat,
  nowMs: number,
  replicaTimeoutMs: number,
): GroupStep {
  const reported: Replica = {
    replicaId: heartbeat.replicaId,
    endpoint: heartbeat.endpoint,
    logEndOffset: heartbeat.logEndOffset,
    lastHeartbeatMs: nowMs,
  };
  if (group === undefined) {
    const created: ReplicaGroup = {
      clusterName: heartbeat.clusterName,
      brokerName: heartbeat.brokerName,
      epoch: 1,
      masterReplicaId: heartbeat.replicaId,
      inSyncReplicaIds: [heartbeat.replicaId],
      replicas: [reported],
    };
    assertGroup(created);
    return { group: created, election: { kind: 'elected', masterReplicaId: heartbeat.replicaId, epoch: 1 }, changed: true };
  }
  assert(group.brokerName === heartbeat.brokerName, 'a heartbeat is applied to its own group', {
    group: group.brokerName,
    heartbeat: heartbeat.brokerName,
  });
  const replicas = [...group.replicas.filter((replica) => replica.replicaId !== reported.replicaId), reported].sort(byReplicaId);
  let inSyncReplicaIds = group.inSyncReplicaIds;
  const masterLogEndOffset = masterOf(group).logEndOffset;
  if (!inSyncReplicaIds.includes(reported.replicaId) && reported.logEndOffset >= masterLogEndOffset) {
    inSyncReplicaIds = [...inSyncReplicaIds, reported.replicaId].sort();
  }
  const updated: ReplicaGroup = { ...group, inSyncReplicaIds, replicas };
  assertTransition(group, updated);
  const step = electIfMasterDown(updated, nowMs, replicaTimeoutMs);
  return { ...step, changed: true };
}

/**
 * When the master is not alive, elects the live in-sync replica with the highest log end offset
 * (ties: the smallest replicaId) in epoch + 1, with an in-sync set of just the new master.
 * With no live in-sync replica the group keeps its dead master: never an unclean election.
 */
export function electIfMasterDown(group: ReplicaGroup, nowMs: number, replicaTimeoutMs: number): GroupStep {
  const master = masterOf(group);
  if (isAlive(master, nowMs, replicaTimeoutMs)) return { group, election: { kind: 'none' }, changed: false };
  const candidates = group.replicas
    .filter((replica) => replica.replicaId !== master.replicaId)
    .filter((replica) => group.inSyncReplicaIds.includes(replica.replicaId))
    .filter((replica) => isAlive(replica, nowMs, replicaTimeoutMs))
    .sort((a, b) => b.logEndOffset - a.logEndOffset || byReplicaId(a, b));
  const chosen = candidates[0];
  if (chosen === undefined) {
    return { group, election: { kind: 'noCandidate', deadMasterReplicaId: master.replicaId }, changed: false };
  }
  const elected: ReplicaGroup = {
    ...group,
    epoch: group.epoch + 1,
    masterReplicaId: chosen.replicaId,
    inSyncReplicaIds: [chosen.replicaId],
  };
  assertTransition(group, elected);
  return {
    group: elected,
    election: { kind: 'elected', masterReplicaId: chosen.replicaId, epoch: elected.epoch, previousMasterReplicaId: master.replicaId },
    changed: true,
  };
}

/** The rules every step keeps; a violation is a bug and stops the process. */
export function assertTransition(before: ReplicaGroup, after: ReplicaGroup): void {
  assertGroup(after);
  const details = { brokerName: after.brokerName, epochBefore: before.epoch, epochAfter: after.epoch };
  assert(after.epoch >= before.epoch, 'the epoch never goes back', details);
  if (after.masterReplicaId !== before.masterReplicaId) {
    assert(after.epoch === before.epoch + 1, 'a new master comes with the next epoch', details);
    assert(before.inSyncReplicaIds.includes(after.masterReplicaId), 'a new master comes from the in-sync set', {
      ...details,
      master: after.masterReplicaId,
      inSyncBefore: before.inSyncReplicaIds,
    });
  } else {
    assert(after.epoch === before.epoch, 'the epoch only changes with the master', details);
  }
}

/** Shape rules of a single group state, also checked on what is loaded from disk. */
export function assertGroup(group: ReplicaGroup): void {
  const details = { brokerName: group.brokerName, masterReplicaId: group.masterReplicaId, inSync: group.inSyncReplicaIds };
  assert(Number.isSafeInteger(group.epoch) && group.epoch >= 1, 'the epoch is a positive integer', { ...details, epoch: group.epoch });
  assert(group.inSyncReplicaIds.includes(group.masterReplicaId), 'the master is in the in-sync set', details);
  for (const id of group.inSyncReplicaIds) {
    assert(replicaOf(group, id) !== undefined, 'every in-sync replica is a known replica', { ...details, replicaId: id });
  }
  assert(new Set(group.replicas.map((r) => r.replicaId)).size === group.replicas.length, 'replica ids are unique', details);
}

function byReplicaId(a: Replica, b: Replica): number {
  return a.replicaId < b.replicaId ? -1 : a.replicaId > b.replicaId ? 1 : 0;
}
