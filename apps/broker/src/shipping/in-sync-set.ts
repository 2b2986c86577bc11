// The master's view of its slaves (pure, clock injected): how far each has acknowledged, which
// are in the in-sync set, and the committed offset that follows from it. A send is answered
// when the committed offset passes it, so the rules here decide what "acknowledged" means:
//   - an in-sync slave that lags past a bound (bytes behind the master's end, or time since it
//     last had everything the master had) is dropped, so one stalled slave cannot stall sends;
//   - a slave joins (again) once it has everything committed, from the current epoch on;
//   - committed = the smallest acknowledged offset over the master and every in-sync slave,
//     and it never goes back.
// The join and leave rules are the controller's (libs/replication: canJoinInSyncSet,
// mustLeaveInSyncSet). Until the master proposes its set to the controller (AlterInSyncSet), it
// keeps it here, behind InSyncMembership, so the broker does not care who decides.
import { canJoinInSyncSet, mustLeaveInSyncSet, type InSyncBounds } from '@rmq/replication';
import { REPLICATION_LIMITS } from './limits';

export type { InSyncBounds };

export interface SlaveProgress {
  replicaId: string;
  /** Acknowledged: durable (sync mode) or written (async mode), as the slave reported it. */
  ackedLogOffset: number;
  inSync: boolean;
  /** How far behind the master's written end, and since when it had everything the master had. */
  lagBytes: number;
  lagMs: number;
}

export type MembershipChange = { replicaId: string; change: 'joined' | 'dropped'; reason: string };

/** Who decides the in-sync set: the master itself today, the controller later. */
export interface InSyncMembership {
  members(): readonly string[];
}

interface Slave {
  ackedLogOffset: number;
  /** The last time the slave had everything the master had written. */
  caughtUpAtMs: number;
  inSync: boolean;
}

export class InSyncSet implements InSyncMembership {
  private readonly slaves = new Map<string, Slave>();
  /** (time, master's written end) samples, oldest first: when did the master's end pass an offset? */
  private samples: { atMs: number; endLogOffset: number }[] = [];
  private committed: number;

  constructor(
    private readonly bounds: InSyncBounds,
    /** Where the current epoch began: a slave joins only with data from this epoch on. */
    private readonly epochStartLogOffset: number,
    committedLogOffset: number,
  ) {
    this.committed = committedLogOffset;
  }

  members(): readonly string[] {
    return [...this.slaves].filter(([, slave]) => slave.inSync).map(([id]) => id).sort();
  }

  /** The in-sync set counts the master itself. */
  size(): number {
    return 1 + this.members().length;
  }

  get committedLogOffset(): number {
    return this.committed;
  }

  /** Notes the master's written end at `nowMs` (call on writes and on a timer). */
  noteMasterEnd(endLogOffset: number, nowMs: number): void {
    const last = this.samples.at(-1);
    // At most one sample per interval: a lag may read up to one interval longer than it is, never shorter.
    if (last && (last.endLogOffset === endLogOffset || nowMs - last.atMs < REPLICATION_LIMITS.lagSampleIntervalMs)) return;
    this.samples.push({ atMs: nowMs, endLogOffset });
    const horizon = nowMs - this.bounds.lagMsMax * 2;
    while (this.samples.length > 1 && this.samples[1].atMs < horizon) this.samples.shift();
  }

  /** A slave reported progress (a new follower starts out of the set). */
  onProgress(replicaId: string, ackedLogOffset: number, masterEndLogOffset: number, nowMs: number): void {
    const slave = this.slaves.get(replicaId) ?? { ackedLogOffset, caughtUpAtMs: nowMs, inSync: false };
    slave.ackedLogOffset = Math.max(slave.ackedLogOffset, ackedLogOffset);
    if (slave.ackedLogOffset >= masterEndLogOffset) slave.caughtUpAtMs = nowMs;
    else slave.caughtUpAtMs = Math.max(slave.caughtUpAtMs, this.lastTimeEndWasAtMost(slave.ackedLogOffset));
    this.slaves.set(replicaId, slave);
  }

  /**
   * Applies the bounds at `nowMs` and recomputes the committed offset from the master's own
   * acknowledged offset (durable or written). Returns who joined or left the set.
   */
  evaluate(masterAckedLogOffset: number, masterEndLogOffset: number, nowMs: number): MembershipChange[] {
    const changes: MembershipChange[] = [];
    for (const [replicaId, slave] of this.slaves) {
      if (slave.ackedLogOffset >= masterEndLogOffset) slave.caughtUpAtMs = nowMs; // idle and complete: not lagging
      const lagBytes = masterEndLogOffset - slave.ackedLogOffset;
      const lagMs = nowMs - slave.caughtUpAtMs;
      if (slave.inSync && mustLeaveInSyncSet({ brokerId: 0, ackedLogOffset: slave.ackedLogOffset, behindMs: lagMs }, masterEndLogOffset, this.bounds)) {
        slave.inSync = false;
        const reason = lagBytes > this.bounds.lagBytesMax
          ? `${lagBytes} bytes behind (bound ${this.bounds.lagBytesMax})`
          : `${lagMs} ms since it had everything the master had (bound ${this.bounds.lagMsMax} ms)`;
        changes.push({ replicaId, change: 'dropped', reason });
      }
    }
    const committed = this.committedFrom(masterAckedLogOffset);
    for (const [replicaId, slave] of this.slaves) {
      const progress = { brokerId: 0, ackedLogOffset: slave.ackedLogOffset, behindMs: nowMs - slave.caughtUpAtMs };
      if (!slave.inSync && canJoinInSyncSet(progress, committed, this.epochStartLogOffset) && !mustLeaveInSyncSet(progress, masterEndLogOffset, this.bounds)) {
        slave.inSync = true;
        changes.push({ replicaId, change: 'joined', reason: `caught up to the committed offset ${committed}` });
      }
    }
    this.committed = this.committedFrom(masterAckedLogOffset);
    return changes;
  }

  /** Forgets a slave (its stream ended and it stayed away); it is dropped from the set first. */
  forget(replicaId: string): boolean {
    const wasInSync = this.slaves.get(replicaId)?.inSync ?? false;
    this.slaves.delete(replicaId);
    return wasInSync;
  }

  progress(masterEndLogOffset: number, nowMs: number): SlaveProgress[] {
    return [...this.slaves].map(([replicaId, slave]) => ({
      replicaId,
      ackedLogOffset: slave.ackedLogOffset,
      inSync: slave.inSync,
      lagBytes: Math.max(0, masterEndLogOffset - slave.ackedLogOffset),
      lagMs: Math.max(0, nowMs - slave.caughtUpAtMs),
    }));
  }

  private committedFrom(masterAckedLogOffset: number): number {
    let committed = masterAckedLogOffset;
    for (const slave of this.slaves.values()) if (slave.inSync) committed = Math.min(committed, slave.ackedLogOffset);
    return Math.max(this.committed, committed);
  }

  /** The latest sampled time at which the master's end was at most `logOffset` (0 if none is known). */
  private lastTimeEndWasAtMost(logOffset: number): number {
    let found = 0;
    for (const sample of this.samples) {
      if (sample.endLogOffset > logOffset) break;
      found = sample.atMs;
    }
    return found;
  }
}
