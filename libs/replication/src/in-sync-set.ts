// The in-sync set rules, used on both sides: the master proposes a new set from its slaves'
// progress (proposeInSyncSet) and the controller checks a proposal before it commits it
// (checkInSyncChange). Pure. Why the master proposes: it must wait for a joining slave's acks
// *before* the controller commits the growth (else a slave could be elected that misses a message
// acked in between), and keep waiting for a leaving slave until the shrink is committed; so the
// set the master waits for is always a superset of the committed one.
import { RmqError } from '@rmq/base';
import { sameIds, sortedIds, type ReplicaGroup, type SlaveProgress } from './replica-group';

export interface InSyncBounds {
  /** A slave that has not reached the master's log end for longer than this leaves the set. */
  lagMsMax: number;
  /** A slave more than this many bytes behind the master's log end leaves the set. */
  lagBytesMax: number;
}

export interface MasterView {
  masterBrokerId: number;
  inSyncBrokerIds: readonly number[];
  slaves: readonly SlaveProgress[];
  logEndOffset: number;
  /** On every in-sync replica: what consumers may read. */
  confirmedLogOffset: number;
  /** Where the master's log starts this epoch. */
  epochStartLogOffset: number;
}

/** A slave out of the set may join once it has everything committed, and has it from this epoch. */
export function canJoinInSyncSet(progress: SlaveProgress, confirmedLogOffset: number, epochStartLogOffset: number): boolean {
  return progress.ackedLogOffset >= confirmedLogOffset && progress.ackedLogOffset >= epochStartLogOffset;
}

/** A slave in the set leaves it when it fell behind for too long, or too far. */
export function mustLeaveInSyncSet(progress: SlaveProgress, logEndOffset: number, bounds: InSyncBounds): boolean {
  return progress.behindMs > bounds.lagMsMax || logEndOffset - progress.ackedLogOffset > bounds.lagBytesMax;
}

/**
 * The set the master should ask for: members that must leave go, slaves that caught up join. A
 * member without a progress entry keeps its place, so the master reports every member of the set,
 * a disconnected one too (with its growing behindMs). A slave that leaves does not come back in
 * the same step. Returns the current set (the same array) when nothing changes.
 */
export function proposeInSyncSet(view: MasterView, bounds: InSyncBounds): readonly number[] {
  const progressById = new Map(view.slaves.map((progress) => [progress.brokerId, progress]));
  const next = new Set<number>([view.masterBrokerId]);
  for (const id of view.inSyncBrokerIds) {
    if (id === view.masterBrokerId) continue;
    const progress = progressById.get(id);
    if (progress === undefined || !mustLeaveInSyncSet(progress, view.logEndOffset, bounds)) next.add(id);
  }
  for (const progress of view.slaves) {
    if (progress.brokerId === view.masterBrokerId || next.has(progress.brokerId)) continue;
    if (view.inSyncBrokerIds.includes(progress.brokerId)) continue; // just left: not back in one step
    if (canJoinInSyncSet(progress, view.confirmedLogOffset, view.epochStartLogOffset)) next.add(progress.brokerId);
  }
  const proposed = sortedIds(next);
  return sameIds(proposed, view.inSyncBrokerIds) ? view.inSyncBrokerIds : proposed;
}

export interface InSyncChange {
  masterBrokerId: number;
  epoch: number;
  inSyncSetVersion: number;
  inSyncBrokerIds: readonly number[];
  slaves: readonly SlaveProgress[];
  confirmedLogOffset: number;
}

/**
 * The controller's check of a master's proposal; returns the group with the new set (a new
 * version) or the group itself when the set is unchanged. Throws FENCED for a caller that is not
 * the master of the current epoch or names an old version, BAD_REQUEST for a set that is not
 * possible. Shrinking is always allowed (the master waited for the leaving slave until now);
 * growing needs a live member whose reported progress shows it caught up in this epoch.
 */
export function applyInSyncChange(group: ReplicaGroup, change: InSyncChange, isAlive: (brokerId: number) => boolean): ReplicaGroup {
  if (change.epoch !== group.epoch || change.masterBrokerId !== group.masterBrokerId) {
    throw new RmqError('FENCED', {
      reason: `broker ${change.masterBrokerId} is not the master of ${group.brokerName} in epoch ${change.epoch}; ` +
        `broker ${group.masterBrokerId} is, in epoch ${group.epoch}`,
    });
  }
  if (change.inSyncSetVersion !== group.inSyncSetVersion) {
    throw new RmqError('FENCED', {
      reason: `in-sync set version ${change.inSyncSetVersion} of ${group.brokerName} is not the current one (${group.inSyncSetVersion})`,
    });
  }
  const proposed = sortedIds(change.inSyncBrokerIds);
  if (!proposed.includes(group.masterBrokerId)) {
    throw new RmqError('BAD_REQUEST', { reason: `the in-sync set of ${group.brokerName} must contain its master ${group.masterBrokerId}` });
  }
  const progressById = new Map(change.slaves.map((progress) => [progress.brokerId, progress]));
  if (progressById.size !== change.slaves.length) {
    throw new RmqError('BAD_REQUEST', { reason: `the progress of a slave of ${group.brokerName} is listed twice` });
  }
  for (const id of proposed) {
    if (group.inSyncBrokerIds.includes(id)) continue;
    if (!group.members.some((member) => member.brokerId === id)) {
      throw new RmqError('BAD_REQUEST', { reason: `broker ${id} is not a member of ${group.brokerName}` });
    }
    const progress = progressById.get(id);
    const caughtUp = progress !== undefined && group.epochStartLogOffset !== undefined &&
      canJoinInSyncSet(progress, change.confirmedLogOffset, group.epochStartLogOffset);
    if (!caughtUp || !isAlive(id)) {
      throw new RmqError('FENCED', {
        reason: `broker ${id} may not join the in-sync set of ${group.brokerName}: it must be alive and have the log up to the ` +
          `committed offset ${change.confirmedLogOffset} from epoch ${group.epoch} on`,
      });
    }
  }
  if (sameIds(proposed, group.inSyncBrokerIds)) return group;
  return { ...group, inSyncBrokerIds: proposed, inSyncSetVersion: group.inSyncSetVersion + 1 };
}
