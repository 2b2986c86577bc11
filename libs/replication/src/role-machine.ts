// A broker's role as one pure state machine: fed the controller's assignments and the results of
// the actions it asked for, it hands back the actions to run, in order (etcd-raft's Ready style).
// The broker runs them one after another and feeds each result back. No I/O, no clock.
//
// Ordering rules it keeps (docs/design/replication.md):
// - a broker starts in `standby` (a slave that follows nobody): after a restart, it writes nothing
//   until the controller says what it is;
// - becoming master: stop following, write the new epoch to the epoch file (`beginEpoch`), and
//   only once that is done `serveAsMaster`, then `registerWithNameServers` at once;
// - leaving master: `refuseWrites` is the first action, before anything else is awaited;
// - becoming a slave of X: fetch X's epochs, truncate where the logs part, then follow X;
// - an assignment of an older epoch than one already acted on is ignored (a late reply).
import { assert } from '@rmq/base';
import { truncationPoint, type EpochEntry } from '@rmq/store';
import { sameIds, type Assignment } from './replica-group';

export type RolePhase =
  | { kind: 'standby'; epoch: number }
  | { kind: 'becomingMaster'; epoch: number; inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }
  | { kind: 'master'; epoch: number; startLogOffset: number; inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }
  | { kind: 'fetchingMasterEpochs'; epoch: number; master: MasterRef }
  | { kind: 'truncating'; epoch: number; master: MasterRef; toLogOffset: number }
  | { kind: 'slave'; epoch: number; master: MasterRef };

export interface MasterRef {
  brokerId: number;
  endpoint: string;
}

export type RoleEvent =
  /** The controller's answer to a heartbeat. */
  | { kind: 'assignment'; assignment: Assignment }
  /** `beginEpoch` is done: the epoch file holds (epoch, startLogOffset). */
  | { kind: 'epochWritten'; epoch: number; startLogOffset: number }
  /** `fetchMasterEpochs` is done: the master's entries and log end, and this broker's own. */
  | {
      kind: 'masterEpochs';
      epoch: number;
      masterEntries: readonly EpochEntry[];
      masterLogEndOffset: number;
      localEntries: readonly EpochEntry[];
      localLogEndOffset: number;
    }
  /** `truncate` is done: the local log (and epoch file) end at logOffset. */
  | { kind: 'truncated'; epoch: number; logOffset: number }
  /** A step of becoming a slave failed (master unreachable, say): wait for the next assignment. */
  | { kind: 'stepFailed'; epoch: number; reason: string };

export type RoleAction =
  /** Stop accepting every local write now (sends, dead letters, retries, sweeps). */
  | { kind: 'refuseWrites'; epoch: number }
  | { kind: 'stopFollowing' }
  /** Write (epoch, current log end) to the epoch file (keep the entry if the epoch is already last), then feed `epochWritten`. */
  | { kind: 'beginEpoch'; epoch: number }
  | { kind: 'serveAsMaster'; epoch: number; startLogOffset: number; inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }
  /** Register with every name server now, with the current role and epoch. */
  | { kind: 'registerWithNameServers'; role: 'master' | 'slave'; epoch: number }
  /** The committed in-sync set changed (the master waits for every member before it acknowledges). */
  | { kind: 'updateInSyncSet'; epoch: number; inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }
  /** Ask the master for its epoch entries and log end, read the local ones, then feed `masterEpochs`. */
  | { kind: 'fetchMasterEpochs'; epoch: number; master: MasterRef }
  /** Cut the local log and epoch file back to toLogOffset, then feed `truncated`. */
  | { kind: 'truncate'; epoch: number; toLogOffset: number }
  | { kind: 'follow'; epoch: number; master: MasterRef; fromLogOffset: number };

export interface RoleStep {
  phase: RolePhase;
  actions: RoleAction[];
}

export class RoleMachine {
  private current: RolePhase = { kind: 'standby', epoch: 0 };

  constructor(private readonly brokerId: number) {}

  phase(): RolePhase {
    return this.current;
  }

  /** Only a master that has written its epoch takes local writes. */
  writable(): boolean {
    return this.current.kind === 'master';
  }

  role(): 'master' | 'slave' {
    return this.current.kind === 'master' ? 'master' : 'slave';
  }

  /** Feeds one event; returns the actions to run, in order. */
  handle(event: RoleEvent): RoleAction[] {
    const step = nextRole(this.brokerId, this.current, event);
    assert(step.phase.epoch >= this.current.epoch, 'a broker never goes back to an older epoch', { from: this.current, to: step.phase });
    this.current = step.phase;
    return step.actions;
  }
}

/** The transition function itself (exported for property tests). */
export function nextRole(brokerId: number, phase: RolePhase, event: RoleEvent): RoleStep {
  const stay: RoleStep = { phase, actions: [] };
  if (event.kind === 'assignment') return onAssignment(brokerId, phase, event.assignment);
  if (event.epoch !== phase.epoch) return stay; // the result of a step of an older decision
  switch (event.kind) {
    case 'epochWritten': {
      if (phase.kind !== 'becomingMaster') return stay;
      const { epoch, inSyncBrokerIds, inSyncSetVersion } = phase;
      return {
        phase: { kind: 'master', epoch, startLogOffset: event.startLogOffset, inSyncBrokerIds, inSyncSetVersion },
        actions: [
          { kind: 'serveAsMaster', epoch, startLogOffset: event.startLogOffset, inSyncBrokerIds, inSyncSetVersion },
          { kind: 'registerWithNameServers', role: 'master', epoch: phase.epoch },
        ],
      };
    }
    case 'masterEpochs': {
      if (phase.kind !== 'fetchingMasterEpochs') return stay;
      const point = truncationPoint(event.localEntries, event.masterEntries, event.masterLogEndOffset, event.localLogEndOffset);
      if (point < event.localLogEndOffset) {
        return { phase: { kind: 'truncating', epoch: phase.epoch, master: phase.master, toLogOffset: point }, actions: [{ kind: 'truncate', epoch: phase.epoch, toLogOffset: point }] };
      }
      return followFrom(phase.epoch, phase.master, event.localLogEndOffset);
    }
    case 'truncated': {
      if (phase.kind !== 'truncating') return stay;
      assert(event.logOffset <= phase.toLogOffset, 'a truncation ends at or below the point asked for', { phase, event });
      return followFrom(phase.epoch, phase.master, event.logOffset);
    }
    case 'stepFailed':
      if (phase.kind !== 'fetchingMasterEpochs' && phase.kind !== 'truncating') return stay;
      return { phase: { kind: 'standby', epoch: phase.epoch }, actions: [] };
  }
}

function onAssignment(brokerId: number, phase: RolePhase, assignment: Assignment): RoleStep {
  const stay: RoleStep = { phase, actions: [] };
  if (assignment.epoch < phase.epoch) return stay;
  const epoch = assignment.epoch;
  if (assignment.role === 'master') {
    assert(assignment.masterBrokerId === brokerId, 'a master assignment names this broker', { brokerId, assignment });
    if (phase.kind === 'master' && phase.epoch === epoch) {
      if (assignment.inSyncSetVersion === phase.inSyncSetVersion && sameIds(assignment.inSyncBrokerIds, phase.inSyncBrokerIds)) return stay;
      if (assignment.inSyncSetVersion < phase.inSyncSetVersion) return stay;
      return {
        phase: { ...phase, inSyncBrokerIds: assignment.inSyncBrokerIds, inSyncSetVersion: assignment.inSyncSetVersion },
        actions: [{ kind: 'updateInSyncSet', epoch, inSyncBrokerIds: assignment.inSyncBrokerIds, inSyncSetVersion: assignment.inSyncSetVersion }],
      };
    }
    const inSync = { inSyncBrokerIds: assignment.inSyncBrokerIds, inSyncSetVersion: assignment.inSyncSetVersion };
    if (phase.kind === 'becomingMaster' && phase.epoch === epoch) {
      return assignment.inSyncSetVersion > phase.inSyncSetVersion ? { phase: { ...phase, ...inSync }, actions: [] } : stay;
    }
    return { phase: { kind: 'becomingMaster', epoch, ...inSync }, actions: [...leave(phase, epoch), { kind: 'beginEpoch', epoch }] };
  }
  const master: MasterRef = { brokerId: assignment.masterBrokerId, endpoint: assignment.masterEndpoint };
  const following = phase.kind === 'fetchingMasterEpochs' || phase.kind === 'truncating' || phase.kind === 'slave';
  if (following && phase.epoch === epoch && phase.master.brokerId === master.brokerId && phase.master.endpoint === master.endpoint) return stay;
  if (!assignment.masterAlive || assignment.masterBrokerId === brokerId) {
    // No master to follow (dead with no successor yet, or this broker's own old process): wait.
    if (phase.kind === 'standby') return epoch === phase.epoch ? stay : { phase: { kind: 'standby', epoch }, actions: [] };
    if (following && phase.epoch === epoch) return stay;
    return { phase: { kind: 'standby', epoch }, actions: leave(phase, epoch) };
  }
  return { phase: { kind: 'fetchingMasterEpochs', epoch, master }, actions: [...leave(phase, epoch), { kind: 'fetchMasterEpochs', epoch, master }] };
}

/** What leaving the current phase takes: a master refuses writes first; a follower stops. */
function leave(phase: RolePhase, nextEpoch: number): RoleAction[] {
  switch (phase.kind) {
    case 'master':
    case 'becomingMaster':
      return [{ kind: 'refuseWrites', epoch: nextEpoch }];
    case 'slave':
    case 'fetchingMasterEpochs':
    case 'truncating':
      return [{ kind: 'stopFollowing' }];
    case 'standby':
      return [];
  }
}

function followFrom(epoch: number, master: MasterRef, fromLogOffset: number): RoleStep {
  return {
    phase: { kind: 'slave', epoch, master },
    actions: [
      { kind: 'follow', epoch, master, fromLogOffset },
      { kind: 'registerWithNameServers', role: 'slave', epoch },
    ],
  };
}
