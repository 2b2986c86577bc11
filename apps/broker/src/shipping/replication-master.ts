// The master's side of a replica group: its epoch history, its slaves' progress and the in-sync
// set, and the store's committed offset that follows from them. Every write or sync of the
// store, and every progress report of a slave, recomputes the committed offset at once (no
// timer on the send path); a timer applies the lag bounds while nothing else happens. Under a
// controller, the master proposes every change of the set it wants (AlterInSyncSet), one
// proposal at a time, and waits for the members of both sets meanwhile (in-sync-set.ts).
import { RmqError, type Clock } from '@rmq/base';
import { errorCodeOf } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { EpochEntry, FlushMode, MessageStore } from '@rmq/store';
import { InSyncSet, type InSyncBounds, type SlaveProgress } from './in-sync-set';
import type { LogView } from './follow-plan';
import { REPLICATION_LIMITS } from './limits';

export interface ReplicationMasterOptions {
  store: MessageStore;
  brokerName: string;
  epoch: number;
  /** The master's epoch entries, oldest first; the last one is `epoch`. */
  epochs: () => readonly EpochEntry[];
  flushMode: FlushMode;
  bounds: InSyncBounds;
  /** Writes are refused while the in-sync set (the master included) is smaller. */
  minInSyncReplicas: number;
  clock: Clock;
  log: Logger;
  /** Under a controller: who commits the in-sync set, and the set committed when this master was elected. */
  controlled?: { authority: InSyncAuthority; replicaId: string; inSyncBrokerIds: readonly number[]; inSyncSetVersion: number };
}

/** A master's request for another in-sync set (broker ids, the master's included). */
export interface InSyncProposal {
  epoch: number;
  inSyncSetVersion: number;
  inSyncBrokerIds: readonly number[];
  confirmedLogOffset: number;
  logEndOffset: number;
  slaves: readonly { brokerId: number; ackedLogOffset: number; behindMs: number }[];
}

/** The controller, as the master sees it for its in-sync set. */
export interface InSyncAuthority {
  /** Commits the proposal (or refuses it); resolves with the set the controller then holds. */
  propose(proposal: InSyncProposal): Promise<{ inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }>;
  /** The controller refused this master's proposal (FENCED): ask it now what holds. */
  refresh(): void;
}

export interface ReplicationStatus {
  epoch: number;
  committedLogOffset: number;
  inSyncReplicas: number;
  slaves: SlaveProgress[];
}

/** Backoff between proposals the controller did not answer or refused. */
const PROPOSAL_RETRY_MS_MIN = 100;
const PROPOSAL_RETRY_MS_MAX = 2_000;

export class ReplicationMaster {
  private readonly set: InSyncSet;
  private readonly sessions = new Map<string, () => void>();
  private readonly wakers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refusing = false;
  private stopped = false;
  private proposing = false;
  private proposeAgainAtMs = 0;
  private proposalFailures = 0;

  constructor(private readonly options: ReplicationMasterOptions) {
    const last = options.epochs().at(-1);
    this.set = new InSyncSet(options.bounds, last?.startLogOffset ?? 0, options.store.committedLogOffset);
    const { controlled } = options;
    if (controlled) this.set.adoptConfirmed(this.slaveIdsOf(controlled.inSyncBrokerIds), controlled.inSyncSetVersion, options.clock.nowMs());
  }

  start(): void {
    const { store } = this.options;
    store.setCommitPolicy('replicated');
    this.unsubscribe = store.onLocalProgress(() => {
      this.recompute();
      for (const wake of this.wakers) wake();
    });
    this.timer = setInterval(() => this.recompute(), REPLICATION_LIMITS.evaluateIntervalMs).unref();
    this.recompute();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    for (const close of this.sessions.values()) close();
    this.sessions.clear();
    // The store stays 'replicated': a send the in-sync set never confirmed is never answered OK.
  }

  get epoch(): number {
    return this.options.epoch;
  }

  logView(): LogView & { committedLogOffset: number } {
    const { store } = this.options;
    return { epochs: this.options.epochs(), minLogOffset: store.stats().logMinOffset, endLogOffset: store.writtenLogOffset, committedLogOffset: store.committedLogOffset };
  }

  /** The epoch a log offset was written in: the last entry starting at or below it. */
  epochAt(logOffset: number): { epoch: number; endLogOffset: number } {
    const epochs = this.options.epochs();
    let index = epochs.length - 1;
    while (index >= 0 && epochs[index].startLogOffset > logOffset) index--;
    // An entry starting at the same offset as the next one is an epoch that wrote nothing.
    while (index + 1 < epochs.length && epochs[index + 1].startLogOffset <= logOffset) index++;
    const endLogOffset = index + 1 < epochs.length ? epochs[index + 1].startLogOffset : Number.MAX_SAFE_INTEGER;
    return { epoch: index >= 0 ? epochs[index].epoch : 0, endLogOffset };
  }

  /** A slave's stream opened; `close` ends it (a newer stream of the same slave, or shutdown). */
  attach(replicaId: string, close: () => void): void {
    this.sessions.get(replicaId)?.();
    this.sessions.set(replicaId, close);
    this.options.log.info('slave following', { replicaId });
  }

  detach(replicaId: string, close: () => void): void {
    if (this.sessions.get(replicaId) !== close) return; // replaced by a newer stream
    this.sessions.delete(replicaId);
    if (this.set.forget(replicaId)) this.options.log.warn('slave left the in-sync set', { replicaId, reason: 'its stream closed' });
    this.recompute();
  }

  onProgress(replicaId: string, writtenLogOffset: number, durableLogOffset: number): void {
    const acked = this.options.flushMode === 'sync' ? durableLogOffset : writtenLogOffset;
    this.set.onProgress(replicaId, acked, this.options.store.writtenLogOffset, this.options.clock.nowMs());
    this.recompute();
  }

  /** Calls `wake` whenever the store wrote, synced or committed more; returns the unsubscribe. */
  onStoreProgress(wake: () => void): () => void {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  }

  /** The controller's committed set changed (a heartbeat's or a proposal's answer). */
  adoptConfirmed(inSyncBrokerIds: readonly number[], inSyncSetVersion: number): void {
    this.set.adoptConfirmed(this.slaveIdsOf(inSyncBrokerIds), inSyncSetVersion, this.options.clock.nowMs());
    this.recompute();
  }

  status(): ReplicationStatus {
    const nowMs = this.options.clock.nowMs();
    return { epoch: this.options.epoch, committedLogOffset: this.set.committedLogOffset, inSyncReplicas: this.set.size(), slaves: this.set.progress(this.options.store.writtenLogOffset, nowMs) };
  }

  private recompute(): void {
    const { store, clock, log } = this.options;
    const nowMs = clock.nowMs();
    const end = store.writtenLogOffset;
    const localAcked = this.options.flushMode === 'sync' ? store.durableLogOffset : store.writtenLogOffset;
    this.set.noteMasterEnd(end, nowMs);
    for (const change of this.set.evaluate(localAcked, end, nowMs)) {
      if (change.change === 'joined') log.info('slave joined the in-sync set', { replicaId: change.replicaId, reason: change.reason });
      else log.warn('slave left the in-sync set', { replicaId: change.replicaId, reason: change.reason });
    }
    store.advanceCommitted(this.set.committedLogOffset);
    this.noteMinInSync();
    this.proposeIfDue(nowMs);
  }

  /** Under a controller: asks it for the set the rules want, one proposal at a time. */
  private proposeIfDue(nowMs: number): void {
    const { controlled, store, log } = this.options;
    if (!controlled || this.stopped || this.proposing || nowMs < this.proposeAgainAtMs) return;
    const wanted = this.set.proposalDue();
    if (!wanted) return;
    const inSyncSetVersion = this.set.beginProposal(wanted);
    const end = store.writtenLogOffset;
    const proposal: InSyncProposal = {
      epoch: this.options.epoch,
      inSyncSetVersion,
      inSyncBrokerIds: [controlled.replicaId, ...wanted].map(Number),
      confirmedLogOffset: this.set.committedLogOffset,
      logEndOffset: end,
      slaves: this.set.progress(end, nowMs).map((slave) => ({ brokerId: Number(slave.replicaId), ackedLogOffset: slave.ackedLogOffset, behindMs: slave.lagBytes === 0 ? 0 : slave.lagMs })),
    };
    this.proposing = true;
    controlled.authority.propose(proposal).then(
      (answer) => {
        this.proposalFailures = 0;
        this.set.proposalAnswered(this.slaveIdsOf(answer.inSyncBrokerIds), answer.inSyncSetVersion, this.options.clock.nowMs());
        log.info('in-sync set committed by the controller', { epoch: proposal.epoch, inSync: answer.inSyncBrokerIds, version: answer.inSyncSetVersion });
      },
      (error: unknown) => {
        // Until an answer settles it, the master waits for every slave it named: never less than
        // the controller may have committed.
        this.proposalFailures++;
        this.proposeAgainAtMs = this.options.clock.nowMs() + Math.min(PROPOSAL_RETRY_MS_MAX, PROPOSAL_RETRY_MS_MIN * 2 ** (this.proposalFailures - 1));
        if (this.proposalFailures === 1) log.warn('the controller did not commit the in-sync set this master asked for; asking again', { proposal: proposal.inSyncBrokerIds, error: String(error) });
        if (errorCodeOf(error) === 'FENCED') controlled.authority.refresh();
      },
    ).finally(() => {
      this.proposing = false;
      if (!this.stopped) this.recompute();
    });
  }

  private slaveIdsOf(brokerIds: readonly number[]): string[] {
    return brokerIds.map(String).filter((id) => id !== this.options.controlled?.replicaId);
  }

  /**
   * Refuses a client's send while the in-sync set (the master included) is smaller than
   * --min-in-sync-replicas. The broker's own records (state, dead letters) are not refused:
   * they are committed by the set as it is.
   */
  requireInSync(): void {
    const inSync = this.set.size();
    if (inSync < this.options.minInSyncReplicas) throw new RmqError('IN_SYNC_REPLICAS_TOO_FEW', { brokerName: this.options.brokerName, inSync, minInSync: this.options.minInSyncReplicas });
  }

  private noteMinInSync(): void {
    const inSync = this.set.size();
    const refusing = inSync < this.options.minInSyncReplicas;
    if (refusing === this.refusing) return;
    this.refusing = refusing;
    if (refusing) this.options.log.warn('refusing sends: too few in-sync replicas', { inSync, minInSync: this.options.minInSyncReplicas });
    else this.options.log.info('accepting sends again: enough in-sync replicas', { inSync, minInSync: this.options.minInSyncReplicas });
  }
}
