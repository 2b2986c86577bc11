// The master's view of its slaves (pure, clock injected): how far each has acknowledged, which
// are in the in-sync set, and the committed offset that follows from it. A send is answered
// when the committed offset passes it, so the rules here decide what "acknowledged" means:
//   - an in-sync slave that lags past a bound (bytes behind the master's end, or time since it
//     last had everything the master had) is dropped, so one stalled slave cannot stall sends;
//   - a slave joins (again) once it has everything committed, from the current epoch on;
//   - committed = the smallest acknowledged offset over the master and every in-sync slave,
//     and it never goes back.
// The join and leave rules are the controller's (libs/replication: canJoinInSyncSet,
// mustLeaveInSyncSet). Without a controller the set the rules want is the set. Under one, the
// controller commits the set (elections pick from it), and the master waits for the union of
// what it wants and what is committed: a joining slave is waited for before the controller
// commits it, a leaving one until the controller has dropped it. So every member of the
// committed set has everything acknowledged, whichever of them is elected.
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

/** The set a controller committed: slave ids (the master not included) and its version. */
export interface ConfirmedSet {
  ids: ReadonlySet<string>;
  version: number;
}

interface Slave {
  ackedLogOffset: number;
  /** The last time the slave had everything the master had written. */
  caughtUpAtMs: number;
  /** The rules want it in the set. */
  inSync: boolean;
  /** Its stream is open (a forgotten slave is kept only while the controller may count it). */
  connected: boolean;
}

export class InSyncSet {
  private readonly slaves = new Map<string, Slave>();
  /** Under a controller: the set it committed; undefined while the master decides alone. */
  private confirmed: ConfirmedSet | undefined;
  /**
   * Slaves named in proposals whose outcome is not known yet (an answer lost to a timeout may
   * still have been committed): waited for until an answer settles it.
   */
  private proposal: { ids: Set<string>; baseVersion: number } | undefined;
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

  /** The slaves the rules want in the set. */
  members(): readonly string[] {
    return [...this.slaves].filter(([, slave]) => slave.inSync).map(([id]) => id).sort();
  }

  /** The in-sync set, the master included: the committed one under a controller. */
  size(): number {
    if (this.confirmed) return 1 + this.confirmed.ids.size;
    let size = 1; // counted without members()' arrays and sort: every send asks (requireInSync)
    for (const slave of this.slaves.values()) if (slave.inSync) size++;
    return size;
  }

  get confirmedSet(): ConfirmedSet | undefined {
    return this.confirmed;
  }

  /**
   * Takes the controller's committed set (an older version is ignored). A member this master has
   * not heard from is waited for at the committed offset, and not wanted: the master asks to
   * drop it, and commits nothing more until the controller has.
   */
  adoptConfirmed(ids: readonly string[], version: number, nowMs: number): void {
    if (this.proposal && version > this.proposal.baseVersion) this.proposal = undefined;
    if (this.confirmed && version <= this.confirmed.version) return;
    this.confirmed = { ids: new Set(ids), version };
    for (const id of ids) {
      if (!this.slaves.has(id)) this.slaves.set(id, { ackedLogOffset: this.committed, caughtUpAtMs: nowMs, inSync: false, connected: false });
    }
    this.dropForgotten();
  }

  /**
   * The set to ask the controller for, or undefined: the wanted set when it differs from the
   * committed one, and also while an earlier proposal's outcome is unknown (asking for the
   * committed set itself then settles it).
   */
  proposalDue(): readonly string[] | undefined {
    if (!this.confirmed) return undefined;
    const wanted = this.members();
    const same = wanted.length === this.confirmed.ids.size && wanted.every((id) => this.confirmed!.ids.has(id));
    return same && !this.proposal ? undefined : wanted;
  }

  /** A proposal of `ids` goes out; returns the committed version it names. */
  beginProposal(ids: readonly string[]): number {
    const version = this.confirmed?.version ?? 0;
    if (!this.proposal) this.proposal = { ids: new Set(), baseVersion: version };
    for (const id of ids) this.proposal.ids.add(id);
    return version;
  }

  /** The controller answered a proposal with its committed set: every earlier proposal is settled. */
  proposalAnswered(ids: readonly string[], version: number, nowMs: number): void {
    this.adoptConfirmed(ids, version, nowMs);
    if (this.proposal && version >= this.proposal.baseVersion) this.proposal = undefined;
    this.dropForgotten();
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
    const slave = this.slaves.get(replicaId) ?? { ackedLogOffset, caughtUpAtMs: nowMs, inSync: false, connected: true };
    slave.connected = true;
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
      if (!slave.inSync && slave.connected && canJoinInSyncSet(progress, committed, this.epochStartLogOffset) && !mustLeaveInSyncSet(progress, masterEndLogOffset, this.bounds)) {
        slave.inSync = true;
        changes.push({ replicaId, change: 'joined', reason: `caught up to the committed offset ${committed}` });
      }
    }
    this.committed = this.committedFrom(masterAckedLogOffset);
    return changes;
  }

  /**
   * Forgets a slave whose stream ended: it leaves the wanted set at once. Under a controller it
   * stays known (its last offset), since the controller may count it until a proposal settles.
   */
  forget(replicaId: string): boolean {
    const slave = this.slaves.get(replicaId);
    const wasInSync = slave?.inSync ?? false;
    if (slave && this.confirmed) {
      slave.inSync = false;
      slave.connected = false;
      this.dropForgotten(); // kept while the controller may count it (or be about to)
    } else this.slaves.delete(replicaId);
    return wasInSync;
  }

  progress(masterEndLogOffset: number, nowMs: number): SlaveProgress[] {
    return [...this.slaves].map(([replicaId, slave]) => ({
      replicaId,
      ackedLogOffset: slave.ackedLogOffset,
      inSync: this.confirmed ? this.confirmed.ids.has(replicaId) : slave.inSync,
      lagBytes: Math.max(0, masterEndLogOffset - slave.ackedLogOffset),
      lagMs: Math.max(0, nowMs - slave.caughtUpAtMs),
    }));
  }

  private committedFrom(masterAckedLogOffset: number): number {
    let committed = masterAckedLogOffset;
    for (const [id, slave] of this.slaves) {
      if (this.waitsFor(id, slave)) committed = Math.min(committed, slave.ackedLogOffset);
    }
    return Math.max(this.committed, committed);
  }

  private dropForgotten(): void {
    for (const [id, slave] of this.slaves) if (!slave.connected && !this.waitsFor(id, slave)) this.slaves.delete(id);
  }

  private waitsFor(id: string, slave: Slave): boolean {
    return slave.inSync || (this.confirmed?.ids.has(id) ?? false) || (this.proposal?.ids.has(id) ?? false);
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
