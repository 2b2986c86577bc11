// The replica path: a slave appends a master's log bytes as its segment files hold them
// (appendReplicated), a store whose log ran ahead of a new master's cuts it back (truncateTo), and
// one with nothing in common with its master starts over at the master's oldest segment
// (restartAt). Replicated records go through the write path's reservation and group commit, so
// they are written and durable exactly like appended ones, and readable once committed.
import { assert, RmqError } from '@rmq/base';
import { placeRecord, type CommitLog } from './commit-log';
import type { ConsumeQueue } from './consume-queue';
import { checkRecord } from './record';
import { parseShippedRecords, type ShippedRecord } from './shipped-records';
import { queueIn, type QueueFileSettings } from './queue-table';
import type { MessageIndex } from './message-index';
import { rebuildIndex } from './log-scan';
import type { RetentionRunner } from './retention';
import type { Checkpointer } from './checkpoint';
import { newPendingAppend, type WritePath } from './write-path';
import type { AppendResult, StoreSettings } from './store-options';

export interface ReplicaPathDeps {
  settings: StoreSettings;
  log: CommitLog;
  queues: Map<string, ConsumeQueue>;
  queueFiles: QueueFileSettings;
  nextQueueOffsets: Map<string, number>;
  index: MessageIndex | undefined;
  writes: WritePath;
  checkpointer: Checkpointer;
  retention: RetentionRunner;
  /** Why appends are refused right now, if they are. */
  refusal: () => RmqError | undefined;
  closed: () => boolean;
}

export class ReplicaPath {
  /** truncateTo() is cutting the log back: appends are refused and timers skip meanwhile. */
  truncating = false;

  constructor(private readonly deps: ReplicaPathDeps) {}

  /**
   * Appends a stretch of another store's log, shipped as its segment files hold it, from
   * `atLogOffset`, which must be this log's end. Every record is checked (CRC, offsets) and must
   * land where the master put it, at the next offset of its queue; then it is written byte for
   * byte, durable and confirmed like any append.
   */
  appendReplicated(atLogOffset: number, bytes: Buffer): Promise<AppendResult[]> {
    const { log, settings, writes } = this.deps;
    const refusal = this.deps.refusal();
    if (refusal) return Promise.reject(refusal);
    if (atLogOffset !== log.endOffset) {
      return Promise.reject(new RmqError('BAD_REQUEST', { reason: `replicated bytes start at log offset ${atLogOffset}, but this log ends at ${log.endOffset}` }));
    }
    let shipped: ShippedRecord[];
    let shippedEnd: number;
    try {
      ({ records: shipped, endLogOffset: shippedEnd } = parseShippedRecords(bytes, atLogOffset, log.segmentSizeBytes, settings.indexedProperties));
      this.checkPlacement(atLogOffset, shipped);
    } catch (error) {
      return Promise.reject(error);
    }
    const entry = { ...newPendingAppend(), replicated: true };
    // Records that follow one another in a segment go into the append buffer as one chunk, the
    // shipped bytes themselves (a run ends at a segment's end or a shipped blank); the last
    // record's queue is reused while it repeats.
    let runStart = 0;
    let queue: ConsumeQueue | undefined;
    for (let index = 0; index < shipped.length; index++) {
      const record = shipped[index];
      const logOffset = writes.reserve(record.sizeBytes);
      assert(logOffset === record.logOffset, 'replicated record placed elsewhere than checked', { logOffset, expected: record.logOffset });
      if (queue === undefined || queue.topic !== record.topic || queue.queueId !== record.queueId) {
        queue = queueIn(this.deps.queues, this.deps.queueFiles, record.topic, record.queueId, record.queueOffset, writes.queueKeyOf(record.topic, record.queueId));
      }
      entry.placements.push({ queue, logOffset, sizeBytes: record.sizeBytes, tagHash: record.tagHash, queueOffset: record.queueOffset, storeTimestampMs: record.storeTimestampMs, indexKeys: record.indexKeys });
      entry.results.push({ logOffset, queueOffset: record.queueOffset, storeTimestampMs: record.storeTimestampMs });
      const next = shipped[index + 1];
      const end = logOffset + record.sizeBytes;
      if (next === undefined || next.logOffset !== end || end % log.segmentSizeBytes === 0) {
        const first = shipped[runStart];
        // The shipped bytes become the run's chunk as they are (no copy into the append buffer).
        writes.appendBuffer.adopt(first.logOffset, bytes.subarray(first.at, record.at + record.sizeBytes));
        runStart = index + 1;
      }
    }
    for (const [key, queueOffset] of this.lastQueueOffsets(shipped)) this.deps.nextQueueOffsets.set(key, queueOffset + 1);
    if (shippedEnd > log.endOffset) {
      // The stretch ended with a blank: this log's segment ends there too.
      const blank = log.padSegment();
      assert(blank !== undefined && log.endOffset === shippedEnd, 'replicated blank does not end the segment', { shippedEnd, logEndOffset: log.endOffset });
      writes.writeBlank(blank);
      entry.endLogOffset = shippedEnd;
    }
    return writes.enqueue(entry);
  }

  /** Checked in full before anything changes: offsets as this log would place them, queue offsets in sequence. */
  private checkPlacement(atLogOffset: number, shipped: ShippedRecord[]): void {
    let end = atLogOffset;
    const next = new Map<string, number>();
    let key = '';
    for (let index = 0; index < shipped.length; index++) {
      const record = shipped[index];
      const previous = shipped[index - 1];
      const placed = placeRecord(end, record.sizeBytes, this.deps.log.segmentSizeBytes).logOffset;
      if (previous === undefined || previous.topic !== record.topic || previous.queueId !== record.queueId) key = this.deps.writes.queueKeyOf(record.topic, record.queueId);
      // A log that does not start at 0 (a replica that started at its master's oldest segment)
      // may meet a queue mid-way; otherwise every queue starts at 0.
      const expected = next.get(key) ?? this.deps.nextQueueOffsets.get(key) ?? (this.deps.log.minOffset > 0 ? record.queueOffset : 0);
      if (placed !== record.logOffset) throw new RmqError('BAD_REQUEST', { reason: `record at log offset ${record.logOffset} would be placed at ${placed} here (different segment sizes?)` });
      if (record.queueOffset !== expected) throw new RmqError('BAD_REQUEST', { reason: `record at log offset ${record.logOffset} has queue offset ${record.queueOffset} in ${record.topic}/${record.queueId}; this store expects ${expected}` });
      next.set(key, expected + 1);
      end = record.logOffset + record.sizeBytes;
    }
  }

  /** The last queue offset of every queue in a stretch, by queue key. */
  private lastQueueOffsets(shipped: ShippedRecord[]): Map<string, number> {
    const last = new Map<string, number>();
    let key = '';
    for (let index = 0; index < shipped.length; index++) {
      const record = shipped[index];
      const previous = shipped[index - 1];
      if (previous === undefined || previous.topic !== record.topic || previous.queueId !== record.queueId) key = this.deps.writes.queueKeyOf(record.topic, record.queueId);
      last.set(key, record.queueOffset);
    }
    return last;
  }

  /**
   * Cuts the log back to `logOffset`, a record boundary at or below the confirmed end (a slave
   * whose log ran ahead of the new master's, after a failover): queues forget the entries from
   * there, the index is rebuilt, and a checkpoint is written at once. Appends wait meanwhile.
   */
  async truncateTo(logOffset: number): Promise<void> {
    const { log, settings, writes, index } = this.deps;
    if (this.deps.closed()) throw new RmqError('STORE_CLOSED');
    await writes.whenWritten();
    if (writes.busy || this.truncating) throw new RmqError('TOO_MANY_REQUESTS', { reason: 'the log can only be cut back while no append is in flight' });
    this.truncating = true;
    try {
      await this.deps.checkpointer.inFlight; // no queue file or segment may be written while the log is cut
      await writes.whenFlushed();
      await this.deps.retention.whenIdle();
      const end = writes.confirmedLogOffset;
      if (logOffset > end || logOffset < log.minOffset) {
        throw new RmqError('BAD_REQUEST', { reason: `log offset ${logOffset} is outside the log [${log.minOffset}, ${end}]` });
      }
      if (logOffset < end && logOffset % log.segmentSizeBytes !== 0) await this.checkRecordStart(logOffset, end);
      await log.truncateTo(logOffset);
      for (const [key, queue] of this.deps.queues) {
        await queue.truncateFromLogOffset(logOffset);
        this.deps.nextQueueOffsets.set(key, queue.count);
      }
      writes.cutBackTo(logOffset, truncatingError());
      this.deps.checkpointer.cutBackTo(logOffset);
      if (index && settings.indexedProperties) {
        index.dropBelow(Number.MAX_SAFE_INTEGER); // forget it all, then refill from the log that stays
        await rebuildIndex(log, index, settings.indexedProperties, logOffset, settings.indexRebuildScanBytesMax);
      }
      await this.deps.checkpointer.run();
    } finally {
      this.truncating = false;
    }
  }

  /**
   * A replica whose log has nothing in common with its master's (empty, or behind the master's
   * oldest segment) starts over: every segment, queue file and index entry goes, and the log
   * starts empty at `logOffset` (a segment start: the master's oldest segment).
   */
  async restartAt(logOffset: number): Promise<void> {
    const { log, writes, index } = this.deps;
    if (this.deps.closed()) throw new RmqError('STORE_CLOSED');
    await writes.whenWritten();
    if (writes.busy || this.truncating) throw new RmqError('TOO_MANY_REQUESTS', { reason: 'the log can only start over while no append is in flight' });
    if (logOffset % log.segmentSizeBytes !== 0) throw new RmqError('BAD_REQUEST', { reason: `a log starts at a segment boundary; ${logOffset} is not one` });
    this.truncating = true;
    try {
      await this.deps.checkpointer.inFlight;
      await writes.whenFlushed();
      await this.deps.retention.whenIdle();
      await log.restartAt(logOffset);
      for (const queue of this.deps.queues.values()) await queue.remove();
      this.deps.queues.clear();
      this.deps.nextQueueOffsets.clear();
      writes.cutBackTo(logOffset, truncatingError(), true);
      this.deps.checkpointer.cutBackTo(logOffset, true);
      index?.dropBelow(Number.MAX_SAFE_INTEGER);
      await this.deps.checkpointer.run();
    } finally {
      this.truncating = false;
    }
  }

  private async checkRecordStart(logOffset: number, end: number): Promise<void> {
    const header = await this.deps.log.readUpTo(logOffset, 8);
    const sizeBytes = header.length === 8 ? header.readUInt32BE(0) : 0;
    const candidate = sizeBytes > 0 && logOffset + sizeBytes <= end ? await this.deps.log.readUpTo(logOffset, sizeBytes) : Buffer.alloc(0);
    const check = checkRecord(candidate, 0, logOffset);
    if (check.kind !== 'record' && check.kind !== 'blank') throw new RmqError('BAD_REQUEST', { reason: `log offset ${logOffset} is not where a record starts` });
  }
}

export function truncatingError(): RmqError {
  return new RmqError('TOO_MANY_REQUESTS', { reason: 'the log is being cut back (after a failover); try again shortly' });
}
