// The master's side of a replica group: its epoch history, its slaves' progress and the in-sync
// set, and the store's committed offset that follows from them. Every write or sync of the
// store, and every progress report of a slave, recomputes the committed offset at once (no
// timer on the send path); a timer applies the lag bounds while nothing else happens.
import { RmqError, type Clock } from '@rmq/base';
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
}

export interface ReplicationStatus {
  epoch: number;
  committedLogOffset: number;
  inSyncReplicas: number;
  slaves: SlaveProgress[];
}

export class ReplicationMaster {
  private readonly set: InSyncSet;
  private readonly sessions = new Map<string, () => void>();
  private readonly wakers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private refusing = false;

  constructor(private readonly options: ReplicationMasterOptions) {
    const last = options.epochs().at(-1);
    this.set = new InSyncSet(options.bounds, last?.startLogOffset ?? 0, options.store.committedLogOffset);
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
