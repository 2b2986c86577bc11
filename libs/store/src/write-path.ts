// The write path: reservation (log offsets and queue offsets are handed out synchronously, in
// call order), the append buffer, group commit and confirmation (queue entries and index entries
// are added once the bytes are written, and durable in sync mode; appends are answered, and
// records readable, once committed: commit-tracker.ts). Group commit is two loops: the write loop
// hands the appends waiting together to the OS (one pwritev); in sync mode the sync loop then
// makes everything written so far durable with one fdatasync, and the next one covers whatever
// was written meanwhile (one at a time: a second in flight was measured in waves 7 and 9 and gained
// nothing, docs/performance.md), started before the batches the last one made durable are answered.
// While one runs, appends whose caller waits for their `written` stage (deliveries) are written at
// once; the others are written together just before the next fdatasync (one pwritev, not one per
// append). A transient error (EIO, ENOSPC, EMFILE...) stalls writing: appends are refused with the
// reason while the bytes are written (and synced) again, with backoff, until it succeeds; then
// writing resumes where it stopped, nothing lost.
// Any other write error refuses every later append.
import { assert, latencyProbe, RmqError, type ProbeStage } from '@rmq/base';
import { isTransientIoError } from './file-io';
import { STORE_LIMITS } from './limits';
import type { Chunk, CommitLog } from './commit-log';
import type { ConsumeQueue } from './consume-queue';
import { BLANK_RECORD_BYTES_MIN, encodeBlankInto, encodeRecordInto, encodedSizeBytes } from './record';
import { AppendBuffer } from './append-buffer';
import { RecentWrites } from './recent-writes';
import { queueIn, queueKey, type QueueFileSettings } from './queue-table';
import { indexKeysOf, type IndexKeys, type MessageIndex } from './message-index';
import type { AppendInput, AppendResult, AppendStages, StoreSettings } from './store-options';
import { CommitTracker } from './commit-tracker';

/** Where a record went; it has an AppendResult's fields, so it serves as the record's result too. */
export interface Placement extends AppendResult {
  queue: ConsumeQueue;
  logOffset: number;
  sizeBytes: number;
  tagHash: number;
  queueOffset: number;
  storeTimestampMs: number;
  indexKeys: IndexKeys | undefined; // index: added at confirm
}

export interface PendingAppend {
  /** Bytes counted in pendingAppendBytes until the entry settles. */
  sizeBytes?: number;
  /** Set when the entry ends past its last record (a replicated stretch ending in a blank). */
  endLogOffset?: number;
  /** A slave's replicated stretch resolves once written (and synced in sync mode), not at commit. */
  replicated?: boolean;
  placements: Placement[];
  results: AppendResult[];
  /** Told once the batch's bytes reached the OS, before its fdatasync (appendStaged). */
  written?: { resolve: (results: AppendResult[]) => void; reject: (error: unknown) => void };
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

export interface WritePathDeps {
  settings: StoreSettings;
  log: CommitLog;
  queues: Map<string, ConsumeQueue>;
  queueFiles: QueueFileSettings;
  /** The queue offset the next record of each queue gets (reserved, maybe not yet confirmed). */
  nextQueueOffsets: Map<string, number>;
  index: MessageIndex | undefined;
  /** Why appends are refused right now (closed, disk full, log being cut), if they are. */
  refusal: () => RmqError | undefined;
  /** The committed offset the checkpoint kept (records above it stay unreadable until committed). */
  committedLogOffset: number;
}

export class WritePath {
  readonly appendBuffer: AppendBuffer;
  /** The bytes just written, for readers that keep up (recent-writes.ts). */
  readonly recent: RecentWrites;
  private pending: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  /** Sync mode: batches written and not yet synced, in log order, with their bytes (written again after a failed sync). */
  private unsynced: WrittenBatch[] = [];
  private syncing: Promise<void> | undefined;
  /** Sync mode: set while the sync loop waits for an fdatasync. */
  private syncInFlight = false;
  /** Sync mode: told when a write stalls while the sync loop waits for it before confirming what was synced. */
  private onStall: (() => void) | undefined;
  private dirtySegments = new Set<number>();
  private flushing: Promise<void> | undefined;
  private readonly listeners = new Set<(topic: string, queueId: number) => void>();
  /** Written, durable and committed offsets (commit-tracker.ts). */
  readonly commits: CommitTracker;
  appendedRecords = 0;
  failure: RmqError | undefined;
  /** Why append() (not appendReplicated) is refused now: a slave; too few in-sync replicas. */
  appendRefusal: RmqError | undefined;
  /** Bytes of appends accepted and not yet confirmed or failed (for backpressure). */
  pendingAppendBytes = 0;
  /** Set while a transient error stops writing: why appends are refused now. */
  stalled: RmqError | undefined;
  private stalledSinceMs = 0;
  /** Set by stopRetrying (the store closes): a stalled write gives up and fails. */
  private giveUp = false;

  constructor(private readonly deps: WritePathDeps) {
    const { zeroAheadBytes } = deps.settings;
    assert(Number.isInteger(zeroAheadBytes) && zeroAheadBytes >= 0, 'zeroAheadBytes is a whole number of at least 0', { zeroAheadBytes });
    // A slab is reused once its bytes are acknowledged here (synced in sync mode: a failed sync writes them again) and no longer kept in memory.
    this.appendBuffer = new AppendBuffer(deps.log.segmentSizeBytes, () => Math.min(this.commits.localAcked, this.recent.keptFromLogOffset));
    this.recent = new RecentWrites(deps.log, STORE_LIMITS.recentWritesBytesMax);
    this.commits = new CommitTracker(deps.settings.flushMode, deps.log.endOffset, deps.committedLogOffset, deps.settings.commitPolicy, (topic, queueId) => {
      for (const listener of this.listeners) listener(topic, queueId);
    });
  }

  /** Written and indexed (the name from before replicas). */
  get confirmedLogOffset(): number {
    return this.commits.written;
  }

  get flushedLogOffset(): number {
    return this.commits.durable;
  }

  /** Appends records in order; resolves once they are committed. */
  append(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    const entry = this.reserveAll(inputs);
    return entry instanceof RmqError ? Promise.reject(entry) : this.enqueue(entry);
  }

  /**
   * Appends records in order, telling both when they reached the OS and when they are committed:
   * for records a crash of the machine may lose but a crash of the process must not (deliveries).
   */
  appendStaged(inputs: readonly AppendInput[]): AppendStages {
    const entry = this.reserveAll(inputs);
    if (entry instanceof RmqError) return { written: handled(Promise.reject(entry)), committed: Promise.reject(entry) };
    const written = handled(new Promise<AppendResult[]>((resolve, reject) => (entry.written = { resolve, reject })));
    return { written, committed: this.enqueue(entry) };
  }

  /** Checks and reserves a batch (whole or not at all): the pending entry, or why it is refused. */
  private reserveAll(inputs: readonly AppendInput[]): PendingAppend | RmqError {
    const refusal = this.deps.refusal() ?? this.appendRefusal;
    if (refusal) return refusal;
    const { log, settings } = this.deps;
    // Every record is checked before anything is reserved: a batch is appended whole or not at all.
    const sizes = inputs.map(encodedSizeBytes);
    const recordBytesMax = log.segmentSizeBytes - BLANK_RECORD_BYTES_MIN;
    const tooLarge = sizes.findIndex((sizeBytes) => sizeBytes > recordBytesMax);
    if (tooLarge >= 0) {
      return new RmqError('BAD_REQUEST', { reason: `a record of ${sizes[tooLarge]} bytes does not fit in a commit log segment of ${log.segmentSizeBytes} bytes` });
    }
    const batchBytes = sizes.reduce((sum, sizeBytes) => sum + sizeBytes, 0);
    // Always admit one batch, so a batch larger than the bound is not refused forever.
    if (this.pendingAppendBytes > 0 && this.pendingAppendBytes + batchBytes > settings.pendingAppendBytesMax) {
      const reason = `the broker is still writing ${this.pendingAppendBytes} bytes (at most ${settings.pendingAppendBytesMax} wait); retry shortly`;
      return new RmqError('TOO_MANY_REQUESTS', { reason });
    }
    const storeTimestampMs = settings.clock.nowMs();
    // One array of the batch's size serves as placements and results: an append often outlives a
    // scavenge (it waits for an fdatasync), so what it holds is promoted; `[]` grown by push holds 17 slots.
    const placements = new Array<Placement>(inputs.length);
    const entry: PendingAppend = { sizeBytes: batchBytes, placements, results: placements, resolve: noop, reject: noop };
    this.pendingAppendBytes += batchBytes;
    // Per record: one placement (also its result), its index keys; nothing else allocated.
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index];
      const sizeBytes = sizes[index];
      const logOffset = this.reserve(sizeBytes);
      if (latencyProbe.enabled) latencyProbe.sample(logOffset);
      const key = this.queueKeyOf(input.topic, input.queueId);
      const queueOffset = this.deps.nextQueueOffsets.get(key) ?? 0;
      this.deps.nextQueueOffsets.set(key, queueOffset + 1);
      const at = this.appendBuffer.claimAt(logOffset, sizeBytes);
      const queue = queueIn(this.deps.queues, this.deps.queueFiles, input.topic, input.queueId, 0, key);
      const indexKeys = settings.indexedProperties && indexKeysOf(input.properties, settings.indexedProperties);
      // The placement is also the record's result (it has the result's fields) and the encoding's placement.
      const placement: Placement = { queue, logOffset, sizeBytes, tagHash: input.tagHash, queueOffset, storeTimestampMs, indexKeys };
      encodeRecordInto(this.appendBuffer.slabBuffer, at, input, placement, sizeBytes);
      placements[index] = placement;
    }
    return entry;
  }

  /** Queue keys made once per queue: a string built and hashed per record cost more than this lookup. */
  private readonly queueKeys = new Map<string, string[]>();

  queueKeyOf(topic: string, queueId: number): string {
    let keys = this.queueKeys.get(topic);
    if (!keys) this.queueKeys.set(topic, (keys = []));
    return (keys[queueId] ??= queueKey(topic, queueId));
  }

  /** Reserves log room for a record, writing the blank that pads a segment's tail when it does not fit. */
  reserve(sizeBytes: number): number {
    const { logOffset, blank } = this.deps.log.reserve(sizeBytes);
    if (blank) this.writeBlank(blank);
    return logOffset;
  }

  writeBlank(blank: { logOffset: number; sizeBytes: number }): void {
    const at = this.appendBuffer.claimAt(blank.logOffset, BLANK_RECORD_BYTES_MIN);
    encodeBlankInto(this.appendBuffer.slabBuffer, at, blank.sizeBytes);
  }

  /** Queues a reserved entry for the next group commit. */
  enqueue(entry: PendingAppend): Promise<AppendResult[]> {
    const done = new Promise<AppendResult[]>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = (error) => {
        entry.written?.reject(error); // not yet written: that stage fails too
        reject(error);
      };
    });
    this.pending.push(entry);
    // While an fdatasync runs, appends that only wait for the commit are written together just
    // before the next one (one pwritev); one whose caller waits for `written` goes out at once.
    if (!this.syncing || entry.written || !this.syncInFlight) this.writing ??= this.writeLoop();
    return done;
  }

  /** Whether an append is reserved, being written or being synced. */
  get busy(): boolean {
    return this.pending.length > 0 || this.writing !== undefined || this.unsynced.length > 0 || this.syncing !== undefined;
  }

  /** Resolves once the appends in flight are written, and synced in sync mode (or failed). */
  async whenWritten(): Promise<void> {
    while (this.writing || this.syncing) {
      await this.writing;
      await this.syncing;
    }
  }

  /** Called after new records of a queue became readable (to wake long polls). */
  onConfirmed(listener: (topic: string, queueId: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The log was cut back to `logOffset`, or started over there (replica path): nothing is in flight. */
  cutBackTo(logOffset: number, error: RmqError, startOver = false): void {
    this.appendBuffer.reset();
    this.recent.clear();
    this.commits.cutTo(logOffset, error, startOver);
    this.dirtySegments.clear();
  }

  /** Flushes one at a time, so the flushed offset never passes a sync still in flight. */
  flushDirty(): Promise<void> {
    this.flushing ??= this.flushDirtyNow().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async whenFlushed(): Promise<void> {
    await this.flushing;
  }

  /** Stops retrying a stalled write (the store is closing): it fails instead. */
  stopRetrying(): void {
    this.giveUp = true;
  }

  /** Writes are refused, with the reason, until resume(). */
  stall(error: unknown, operation: 'write' | 'flush'): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (!this.stalled) this.stalledSinceMs = this.deps.settings.clock.nowMs();
    this.stalled = new RmqError('STORE_UNAVAILABLE', { reason: `${code} on ${operation}: ${(error as Error).message}` });
    this.onStall?.();
    this.deps.settings.onEvent?.({ kind: 'writeStalled', error, operation });
  }

  private resume(): void {
    this.stalled = undefined;
    this.deps.settings.onEvent?.({ kind: 'writeResumed', stalledMs: this.deps.settings.clock.nowMs() - this.stalledSinceMs });
  }

  /** Hands a batch's bytes to the OS; its `written` stage is told at once. */
  private async writeChunks(chunks: Chunk[], batch: PendingAppend[]): Promise<number[]> {
    const touched = await this.deps.log.write(chunks);
    if (latencyProbe.enabled) markBatch(batch, 'written');
    this.recent.add(chunks);
    for (const entry of batch) {
      if (!entry.written) continue;
      entry.written.resolve(entry.results);
      entry.written = undefined;
    }
    return touched;
  }

  /**
   * Runs `attempt` again, with backoff, until it goes through (true) or fails for good or the
   * store closes (false); appends are refused meanwhile (stalled).
   */
  private async retryStalled(first: unknown, attempt: () => Promise<unknown>): Promise<boolean> {
    this.stall(first, 'write');
    let waitMs: number = STORE_LIMITS.stallRetryMsMin;
    while (!this.giveUp) {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs = Math.min(waitMs * 2, STORE_LIMITS.stallRetryMsMax);
      if (this.giveUp) break;
      try {
        await attempt();
        this.resume();
        return true;
      } catch (error) {
        if (!isTransientIoError(error)) return false;
        this.stall(error, 'write');
      }
    }
    return false;
  }

  fail(error: unknown): void {
    if (this.failure) return;
    const code = (error as NodeJS.ErrnoException).code;
    this.failure = code === 'ENOSPC' ? new RmqError('STORE_FULL', { reason: 'no space left on device' }) : new RmqError('STORE_CLOSED');
    this.deps.settings.onEvent?.({ kind: 'writeFailed', error });
  }

  /**
   * Writes each batch of pending appends as soon as it can (not waiting for an fdatasync in
   * flight); in sync mode hands it to the sync loop, in async mode confirms it at once.
   */
  private async writeLoop(): Promise<void> {
    await null; // lets append() record this loop before it can finish
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const chunks = this.appendBuffer.take();
        if (latencyProbe.enabled) markBatch(batch, 'batchCut');
        if (this.failure) {
          this.refuse(batch);
          continue;
        }
        let touched: number[] | undefined;
        try {
          touched = await this.writeChunks(chunks, batch);
        } catch (error) {
          if (!isTransientIoError(error) || !(await this.retryStalled(error, async () => (touched = await this.writeChunks(chunks, batch))))) {
            this.fail(error);
            this.refuse(batch);
            continue;
          }
        }
        if (this.deps.settings.flushMode === 'sync') {
          this.unsynced.push({ batch, chunks, touched: touched! });
          this.commits.handedToOs(endOf(batch)); // slaves may fetch it while it syncs here
          this.syncing ??= this.syncLoop();
        } else {
          for (const start of touched!) this.dirtySegments.add(start);
          settle(batch, this);
          this.confirm(batch);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Sync mode: an fdatasync for everything written so far, then another for what was written
   * while it ran (a batch cannot count on an fdatasync that started before its write); the
   * batches each covered are confirmed in log order once it went through. What waits when one
   * ends is written and its fdatasync started before the batches just synced are confirmed: their
   * answers and wakes (promise chains that run before anything awaited here) would otherwise
   * delay it. After a failed fdatasync the kernel may have dropped the bytes: the batches it
   * covered and every one written since are written again and synced before any of them is confirmed.
   */
  private async syncLoop(): Promise<void> {
    await null; // lets the write loop record this loop before it can finish
    try {
      let next: { group: WrittenBatch[]; outcome: Promise<unknown> } | undefined;
      for (;;) {
        let current = next;
        next = undefined;
        if (!current) {
          // What arrived meanwhile is written now, to go into the next fdatasync. After any wait,
          // look again: an append may have arrived meanwhile (and started no write loop).
          if (this.pending.length > 0) this.writing ??= this.writeLoop();
          if (this.writing) {
            await this.writing;
            continue;
          }
          if (this.unsynced.length === 0) break; // nothing pending, written, being written or synced: done
          current = this.startSync();
        }
        const { group } = current;
        const error = await current.outcome;
        if (error !== undefined) {
          const again = () => this.writeAndSyncAgain(group);
          if (!isTransientIoError(error) || !(await this.retryStalled(error, again))) this.fail(error);
        }
        // After a failure nothing later is confirmed: queue offsets stay without holes.
        const refused = this.failure !== undefined;
        if (!refused && !this.stalled) next = await this.startNextEarly();
        for (const { batch } of group) {
          settle(batch, this);
          if (refused) this.refuse(batch, false);
          else this.confirm(batch);
        }
      }
    } finally {
      this.syncing = undefined;
    }
  }

  /** Starts an fdatasync of every batch written and not yet covered by one. */
  private startSync(): { group: WrittenBatch[]; outcome: Promise<unknown> } {
    const group = this.unsynced;
    this.unsynced = [];
    return { group, outcome: this.sync(group) };
  }

  /**
   * Right after an fdatasync went through: writes the appends that waited for it and starts
   * theirs. A write that stalls (a transient error, retried with backoff) is not waited for:
   * the batches just synced are confirmed meanwhile, and the loop syncs what it wrote later.
   */
  private async startNextEarly(): Promise<{ group: WrittenBatch[]; outcome: Promise<unknown> } | undefined> {
    if (this.pending.length > 0) this.writing ??= this.writeLoop();
    const writing = this.writing;
    if (writing) {
      const stalled = new Promise<void>((resolve) => (this.onStall = resolve));
      try {
        await Promise.race([writing, stalled]);
      } finally {
        this.onStall = undefined;
      }
    }
    return this.unsynced.length > 0 && !this.failure && !this.stalled ? this.startSync() : undefined;
  }

  /** One fdatasync for the batches of the group: resolves with its error, if it failed. */
  private async sync(group: WrittenBatch[]): Promise<unknown> {
    const startedMs = latencyProbe.enabled ? performance.now() : 0;
    if (latencyProbe.enabled) for (const { batch } of group) markBatch(batch, 'syncIssued', startedMs);
    this.syncInFlight = true;
    let error: unknown;
    try {
      await this.deps.log.datasync(segmentsOf(group));
    } catch (failure) {
      error = failure ?? new Error('fdatasync failed');
    } finally {
      this.syncInFlight = false;
    }
    if (latencyProbe.enabled) {
      const syncedMs = performance.now();
      for (const { batch } of group) markBatch(batch, 'synced', syncedMs);
      const records = group.reduce((sum, { batch }) => sum + batch.reduce((n, entry) => n + entry.placements.length, 0), 0);
      latencyProbe.commit(records, startedMs, syncedMs, this.pending.length > 0 || this.unsynced.length > 0);
    }
    return error;
  }

  /** After a failed fdatasync: the group and everything written since, written again, then synced. */
  private async writeAndSyncAgain(group: WrittenBatch[]): Promise<void> {
    const all = [...group, ...this.unsynced];
    for (const { chunks } of all) await this.deps.log.write(chunks);
    await this.deps.log.datasync(segmentsOf(all));
  }

  /** Rejects a batch's appends with the write path's failure (settling their bytes first unless done). */
  private refuse(batch: PendingAppend[], unsettled = true): void {
    if (unsettled) settle(batch, this);
    for (const entry of batch) entry.reject(this.failure);
  }

  /** The batch is written (and synced in sync mode): indexed now, answered and readable once committed. */
  private confirm(batch: PendingAppend[]): void {
    const woken = new Set<ConsumeQueue>();
    let end = this.commits.written;
    for (const entry of batch) {
      for (const placement of entry.placements) {
        const queueOffset = placement.queue.append(placement);
        if (queueOffset !== placement.queueOffset) assert(false, 'queue offset drifted from its reservation', { queueOffset, reserved: placement.queueOffset });
        if (placement.indexKeys) this.deps.index?.add(placement.indexKeys, placement.queue.topic, placement.logOffset, placement.sizeBytes, placement.storeTimestampMs);
        end = placement.logOffset + placement.sizeBytes;
        woken.add(placement.queue);
      }
      this.appendedRecords += entry.placements.length;
      if (entry.endLogOffset !== undefined) end = Math.max(end, entry.endLogOffset);
      // Waiters first, in log order: the progress below may commit this very batch at once.
      if (entry.replicated) entry.resolve(entry.results);
      else {
        this.commits.whenCommitted(end).then(() => {
          if (latencyProbe.enabled) markBatch([entry], 'committed');
          entry.resolve(entry.results);
        }, entry.reject);
      }
    }
    this.commits.wrote(end, woken, this.deps.settings.flushMode === 'sync');
  }

  private async flushDirtyNow(): Promise<void> {
    if (this.dirtySegments.size === 0) return;
    const startedMs = this.deps.settings.clock.nowMs();
    const target = this.commits.written;
    const segments = [...this.dirtySegments];
    this.dirtySegments.clear();
    try {
      await this.deps.log.datasync(segments);
    } catch (error) {
      // Synced again on the next tick; appends wait until a flush goes through.
      for (const start of segments) this.dirtySegments.add(start);
      if (isTransientIoError(error)) this.stall(error, 'flush');
      throw error;
    }
    if (this.stalled && !this.writing) this.resume();
    this.commits.synced(target);
    this.deps.settings.onEvent?.({ kind: 'flushed', durationMs: this.deps.settings.clock.nowMs() - startedMs });
  }
}

/** A batch handed to the OS, waiting for its fdatasync (sync mode). */
interface WrittenBatch {
  batch: PendingAppend[];
  chunks: Chunk[];
  /** The log segments its bytes went to. */
  touched: number[];
}

function segmentsOf(group: WrittenBatch[]): number[] {
  const segments = new Set<number>();
  for (const { touched } of group) for (const start of touched) segments.add(start);
  return [...segments];
}

/** The batch's appends no longer count against the bytes pending (written and settled, or refused). */
function settle(batch: PendingAppend[], writes: { pendingAppendBytes: number }): void {
  for (const entry of batch) writes.pendingAppendBytes -= entry.sizeBytes ?? 0;
}

/** Where a batch of pending appends ends in the log (a record boundary, or a segment's end after a blank). */
function endOf(batch: PendingAppend[]): number {
  let end = 0;
  for (const entry of batch) {
    const last = entry.placements.at(-1);
    if (last) end = Math.max(end, last.logOffset + last.sizeBytes);
    if (entry.endLogOffset !== undefined) end = Math.max(end, entry.endLogOffset);
  }
  return end;
}

/** Debug only (latency-probe.ts): marks a stage of the batch's sampled records. */
function markBatch(batch: PendingAppend[], stage: ProbeStage, atMs = performance.now()): void {
  for (const entry of batch) for (const placement of entry.placements) latencyProbe.mark(placement.logOffset, stage, atMs);
}

/** A stage the caller may not await (it awaits the commit, which fails the same way). */
function handled<T>(stage: Promise<T>): Promise<T> {
  stage.catch(() => undefined);
  return stage;
}

export function newPendingAppend(): PendingAppend {
  return { placements: [], results: [], resolve: noop, reject: noop };
}

/** Until enqueue() sets an entry's own. */
function noop(): void {}
