// Three offsets of the store's log, each a record boundary, never decreasing except when the
// log is cut back:
//   written   - the bytes reached the OS (page cache) and their queue and index entries exist;
//   durable   - fdatasynced on this machine;
//   committed - on every member of the replica group's in-sync set (durable there in sync mode,
//               written in async mode): appends are answered and records become readable here.
// Policy 'local' (no replicas) moves committed with this store's own acknowledged offset
// (durable in sync mode, written in async mode), which is what the store did before replicas.
// Policy 'replicated' moves it only through advance() (the master's in-sync set, or a slave
// following its master), never past written.
import type { FlushMode } from './store-options';

export type CommitPolicy = 'local' | 'replicated';

interface Waiter {
  endLogOffset: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A queue as the tracker sees it: how many entries it has, how many consumers may read. */
export interface CommittableQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly count: number;
  committedCount: number;
}

interface Readable {
  endLogOffset: number;
  /** Each queue the batch touched, with its entry count right after the batch. */
  queues: { queue: CommittableQueue; count: number }[];
}

export class CommitTracker {
  written: number;
  durable: number;
  /**
   * Bytes handed to the OS, possibly not yet indexed (sync mode: before their fdatasync). A master
   * ships up to here, so its slaves' syncs overlap its own; nothing here is committed sooner.
   */
  shippable: number;
  private committedValue: number;
  private waiters: Waiter[] = [];
  private readable: Readable[] = [];
  private readonly progressListeners = new Set<() => void>();

  constructor(
    private readonly flushMode: FlushMode,
    logEndOffset: number,
    committedLogOffset: number,
    private policy: CommitPolicy,
    /** Told about queues whose new records became readable. */
    private readonly onReadable: (topic: string, queueId: number) => void,
  ) {
    this.written = logEndOffset;
    this.durable = logEndOffset;
    this.shippable = logEndOffset;
    this.committedValue = Math.min(committedLogOffset, logEndOffset);
    this.followLocal();
  }

  get committed(): number {
    return this.committedValue;
  }

  /** What this store itself acknowledges: durable in sync mode, written in async mode. */
  get localAcked(): number {
    return this.flushMode === 'sync' ? this.durable : this.written;
  }

  setPolicy(policy: CommitPolicy): void {
    this.policy = policy;
    this.followLocal();
  }

  /** Calls `listener` after every write or sync of this store (a master recomputes its committed offset). */
  onProgress(listener: () => void): () => void {
    this.progressListeners.add(listener);
    return () => this.progressListeners.delete(listener);
  }

  /** A batch's bytes up to `endLogOffset` reached the OS (its sync, in sync mode, comes next). */
  handedToOs(endLogOffset: number): void {
    if (endLogOffset <= this.shippable) return;
    this.shippable = endLogOffset;
    for (const listener of this.progressListeners) listener();
  }

  /** Records up to `endLogOffset` were written (and, in sync mode, synced); their queues are `queues`. */
  wrote(endLogOffset: number, queues: Iterable<CommittableQueue>, durableToo: boolean): void {
    this.written = Math.max(this.written, endLogOffset);
    this.shippable = Math.max(this.shippable, endLogOffset);
    if (durableToo) this.durable = Math.max(this.durable, endLogOffset);
    this.readable.push({ endLogOffset, queues: [...queues].map((queue) => ({ queue, count: queue.count })) });
    this.progressed();
  }

  /**
   * At open: entries written before the restart but not committed then; each becomes readable
   * (its queue's committed count reaches `count`) once committed passes `endLogOffset`.
   */
  uncommittedAtOpen(entries: { endLogOffset: number; queue: CommittableQueue; count: number }[]): void {
    const pending = entries.filter((entry) => entry.endLogOffset > this.committedValue).sort((a, b) => a.endLogOffset - b.endLogOffset);
    this.readable.unshift(...pending.map(({ endLogOffset, queue, count }) => ({ endLogOffset, queues: [{ queue, count }] })));
  }

  synced(durableLogOffset: number): void {
    if (durableLogOffset <= this.durable) return;
    this.durable = Math.min(durableLogOffset, this.written);
    this.progressed();
  }

  /** Resolves once `endLogOffset` is committed (an append's answer). */
  whenCommitted(endLogOffset: number): Promise<void> {
    if (endLogOffset <= this.committedValue) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ endLogOffset, resolve, reject }));
  }

  /** Moves committed to `logOffset` (never past written, never back). */
  advance(logOffset: number): void {
    const target = Math.min(logOffset, this.written);
    if (target <= this.committedValue) return;
    this.committedValue = target;
    let served = 0;
    while (served < this.waiters.length && this.waiters[served].endLogOffset <= target) this.waiters[served++].resolve();
    if (served > 0) this.waiters = this.waiters.slice(served);
    const woken = new Set<CommittableQueue>();
    let done = 0;
    while (done < this.readable.length && this.readable[done].endLogOffset <= target) {
      for (const { queue, count } of this.readable[done++].queues) {
        queue.committedCount = Math.max(queue.committedCount, count);
        woken.add(queue);
      }
    }
    if (done > 0) this.readable = this.readable.slice(done);
    for (const { topic, queueId } of woken) this.onReadable(topic, queueId);
  }

  /** The log was cut back to `logOffset` (or started over there): waiters beyond it fail with `error`. */
  cutTo(logOffset: number, error: unknown, startOver = false): void {
    this.written = startOver ? logOffset : Math.min(this.written, logOffset);
    this.shippable = this.written;
    this.durable = startOver ? logOffset : Math.min(this.durable, logOffset);
    this.committedValue = startOver ? logOffset : Math.min(this.committedValue, logOffset);
    for (const waiter of this.waiters) if (waiter.endLogOffset > this.committedValue) waiter.reject(error);
    this.waiters = [];
    this.readable = [];
  }

  /** Appends still waiting are refused with `error` (the store closes). */
  failWaiters(error: unknown): void {
    for (const waiter of this.waiters) waiter.reject(error);
    this.waiters = [];
  }

  private progressed(): void {
    this.followLocal();
    for (const listener of this.progressListeners) listener();
  }

  private followLocal(): void {
    if (this.policy === 'local') this.advance(this.localAcked);
  }
}
