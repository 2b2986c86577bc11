// The index of one (topic, queueId): fixed 20-byte entries (logOffset u64, sizeBytes u32,
// tagHash u32, reserved u32) in fixed-size files (queue-files.ts), so entry n is found without a
// search. Memory does not grow with the queue: only the tail is held, that is the entries not yet
// persisted (appended since the last checkpoint) plus the last `hotEntryCount` ones (what readers
// near the end ask for); every other entry is read from its file, through the page cache, when
// asked for. Retention: entries whose record was deleted are below minQueueOffset; files wholly
// below it are deleted (never the one holding the last entry, whose size says the queue's count).
// An entry of size 0 is a hole (a queue rebuilt after retention starts inside its first file).
import { assert } from '@rmq/base';
import { readU64, u32At, u64At, writeU64 } from './record';
import { CONSUME_QUEUE_ENTRY_BYTES, type QueueFiles } from './queue-files';

export { CONSUME_QUEUE_ENTRY_BYTES } from './queue-files';

/** Room for appends left in the tail when it is (re)made: a queue at rest holds its hot entries and this. */
const TAIL_SLACK_BYTES = 16 * CONSUME_QUEUE_ENTRY_BYTES;

export interface QueueEntry {
  logOffset: number;
  sizeBytes: number;
  tagHash: number;
}

export class ConsumeQueue {
  /**
   * Entries readable by consumers: those of records below the store's committed offset (kept by
   * the commit tracker as batches commit, set at open, cut with the queue).
   */
  committedCount = 0;
  /** Entries [tailStart, countValue) at (n - tailStart) * 20. */
  private tail: Buffer;
  private tailStart: number;
  private countValue: number;
  /** Entries below this are in the files. */
  private persistedCount: number;
  /** Retention: the first entry whose record still exists. */
  private minQueueOffsetValue: number;
  /** The first file that may still exist (files below it were deleted by retention). */
  private firstFileStart: number;
  /** Log offset of the last entry (-1: none): appends must go past it. */
  private lastLogOffset = -1;
  /**
   * The last entry a read returned: entries from it on point at records no older (log order), so a
   * reader going forward from a recent record reads recent entries (entriesFrom's synchronous reads).
   */
  private lastRead = { queueOffset: -1, logOffset: -1 };

  private constructor(
    readonly topic: string,
    readonly queueId: number,
    private readonly files: QueueFiles,
    private readonly hotEntryCount: number,
    firstQueueOffset: number,
  ) {
    this.tail = Buffer.alloc(TAIL_SLACK_BYTES);
    this.tailStart = this.countValue = this.persistedCount = this.minQueueOffsetValue = firstQueueOffset;
    this.firstFileStart = files.fileStartOf(firstQueueOffset);
  }

  /**
   * A queue with no entries yet. `firstQueueOffset` > 0 when it is rebuilt from a log whose
   * start retention deleted: its first file then has a hole (zeros) below that entry.
   */
  static empty(topic: string, queueId: number, files: QueueFiles, hotEntryCount: number, firstQueueOffset = 0): ConsumeQueue {
    const queue = new ConsumeQueue(topic, queueId, files, hotEntryCount, firstQueueOffset);
    queue.committedCount = firstQueueOffset;
    return queue;
  }

  /**
   * Opens a queue's files: only the last one's size and tail are read. `trustedCount` is how many
   * entries the checkpoint vouches for (all of them below its log offset); entries past it are
   * cut from the files (recovery dispatches them again). Undefined when the files hold fewer, or
   * are not a contiguous run of whole files: the queue must be rebuilt.
   */
  static async load(topic: string, queueId: number, files: QueueFiles, hotEntryCount: number, trustedCount: number): Promise<ConsumeQueue | undefined> {
    const starts = await files.list();
    if (starts.length === 0) return trustedCount > 0 ? undefined : ConsumeQueue.empty(topic, queueId, files, hotEntryCount);
    for (const [i, start] of starts.entries()) {
      if (start % files.entriesPerFile !== 0 || (i > 0 && start !== starts[i - 1] + files.entriesPerFile)) return undefined;
      if (i + 1 < starts.length && (await files.entryCountOf(start)) !== files.entriesPerFile) return undefined; // a file cut short
    }
    const last = starts[starts.length - 1];
    const fileCount = last + (await files.entryCountOf(last));
    if (fileCount < trustedCount || trustedCount < starts[0]) return undefined;
    const queue = new ConsumeQueue(topic, queueId, files, hotEntryCount, starts[0]);
    queue.countValue = queue.persistedCount = queue.tailStart = trustedCount;
    if (fileCount > trustedCount) await files.cutFrom(trustedCount);
    await queue.reloadTail();
    return queue;
  }

  get count(): number {
    return this.countValue;
  }

  /** The first readable entry: entries below it point at records retention deleted. */
  get minQueueOffset(): number {
    return this.minQueueOffsetValue;
  }

  /** Entries not yet in the files (they go at the next persist). */
  get unpersistedCount(): number {
    return this.countValue - this.persistedCount;
  }

  /** Log offset of the first entry not yet in the files; undefined when they hold every entry. */
  get firstUnpersistedLogOffset(): number | undefined {
    if (this.persistedCount === this.countValue) return undefined;
    return readU64(this.tail, (this.persistedCount - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES);
  }

  append(entry: QueueEntry): number {
    if (entry.logOffset <= this.lastLogOffset) assert(false, 'consume queue log offsets must grow', { topic: this.topic, queueId: this.queueId, last: this.lastLogOffset, next: entry.logOffset });
    const at = (this.countValue - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES;
    if (at + CONSUME_QUEUE_ENTRY_BYTES > this.tail.length) {
      const grown = Buffer.alloc(this.tail.length * 2);
      this.tail.copy(grown, 0, 0, at);
      this.tail = grown;
    }
    writeU64(this.tail, at, entry.logOffset);
    this.tail.writeUInt32BE(entry.sizeBytes, at + 8);
    this.tail.writeUInt32BE(entry.tagHash >>> 0, at + 12);
    this.tail.writeUInt32BE(0, at + 16);
    this.lastLogOffset = entry.logOffset;
    return this.countValue++;
  }

  /**
   * Up to `countMax` consecutive entries (20 bytes each, a copy) from `queueOffset`, or from the
   * minimum if that is higher: `queueOffset` in the answer says where they start. Fewer when a
   * file ends first; none at the end of the queue. Entries known to point at or above
   * `recentFromLogOffset` (the log's newest stretch) are read synchronously (sync-reads.ts).
   */
  async entriesFrom(queueOffset: number, countMax: number, recentFromLogOffset = Infinity): Promise<{ queueOffset: number; entries: Buffer }> {
    const from = Math.max(queueOffset, this.minQueueOffsetValue);
    const count = Math.min(countMax, this.countValue - from);
    if (count <= 0) return { queueOffset: from, entries: Buffer.alloc(0) };
    if (from >= this.tailStart) {
      const at = (from - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES;
      return { queueOffset: from, entries: Buffer.from(this.tail.subarray(at, at + count * CONSUME_QUEUE_ENTRY_BYTES)) };
    }
    try {
      const fileCount = Math.min(count, this.tailStart - from);
      // Entries of records at or above `recentFromLogOffset` are in the page cache: read on the main thread.
      const recent = this.lastRead.queueOffset >= 0 && from >= this.lastRead.queueOffset && this.lastRead.logOffset >= recentFromLogOffset;
      const entries = (recent ? this.files.readSync(from, fileCount) : undefined) ?? (await this.files.read(from, fileCount));
      if (entries.length > 0) {
        const lastAt = entries.length - CONSUME_QUEUE_ENTRY_BYTES;
        this.lastRead = { queueOffset: from + lastAt / CONSUME_QUEUE_ENTRY_BYTES, logOffset: readU64(entries, lastAt) };
      }
      return { queueOffset: from, entries };
    } catch (error) {
      // Retention deleted the file meanwhile: the caller goes on from the new minimum.
      if (isNotFound(error) && from < this.minQueueOffsetValue) return { queueOffset: this.minQueueOffsetValue, entries: Buffer.alloc(0) };
      throw error;
    }
  }

  /** The entry at `queueOffset` if it is held in memory (recovery's cross-check); undefined otherwise. */
  cachedEntry(queueOffset: number): QueueEntry | undefined {
    if (queueOffset < this.tailStart || queueOffset >= this.countValue) return undefined;
    return entryAt(this.tail, (queueOffset - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES);
  }

  /** Entries whose record starts below `logOffset` (entries are in log order), counted from 0. */
  async countBelowLogOffset(logOffset: number): Promise<number> {
    if (this.lastLogOffset < logOffset) return this.countValue;
    return this.firstAtOrAbove(logOffset, this.minQueueOffsetValue, this.countValue);
  }

  /** Drops entries at or beyond `logOffset` (the log was cut below them), from memory and files. */
  async truncateFromLogOffset(logOffset: number): Promise<void> {
    const cut = await this.countBelowLogOffset(logOffset);
    this.committedCount = Math.min(this.committedCount, cut);
    this.lastRead = { queueOffset: -1, logOffset: -1 };
    if (cut === this.countValue) return;
    this.countValue = cut;
    this.minQueueOffsetValue = Math.min(this.minQueueOffsetValue, cut);
    if (this.persistedCount > cut) {
      await this.files.cutFrom(cut);
      this.persistedCount = cut;
    }
    if (cut <= this.tailStart) {
      this.tailStart = cut;
      await this.reloadTail();
    } else {
      this.lastLogOffset = readU64(this.tail, (cut - 1 - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES);
    }
  }

  /**
   * Retention: the log now starts at `logOffsetMin`, so the queue starts at its first entry at or
   * above it (every entry if none is). Only moves forward. Files wholly below the new minimum
   * are deleted. Says which queue offsets were dropped, if any.
   */
  async advanceMinToLogOffset(logOffsetMin: number): Promise<{ fromQueueOffset: number; toQueueOffset: number } | undefined> {
    const from = this.minQueueOffsetValue;
    if (from >= this.countValue) return undefined;
    const first = await this.probe(from); // the usual case at open: nothing of this queue was deleted
    if (first !== undefined && first.sizeBytes > 0 && first.logOffset >= logOffsetMin) return undefined;
    const to = await this.firstAtOrAbove(logOffsetMin, from, this.countValue);
    if (to <= this.minQueueOffsetValue) return undefined;
    this.minQueueOffsetValue = to;
    // Never the file holding the last entry: its size says the queue's count at the next open.
    const keepFrom = Math.min(this.files.fileStartOf(to), this.files.fileStartOf(Math.max(this.countValue - 1, 0)));
    while (this.firstFileStart < keepFrom && this.firstFileStart + this.files.entriesPerFile <= this.persistedCount) {
      await this.files.delete(this.firstFileStart);
      this.firstFileStart += this.files.entriesPerFile;
    }
    return { fromQueueOffset: from, toQueueOffset: to };
  }

  /** Writes entries not yet in the files (each touched file fdatasynced), then lets go of all but the hot tail. */
  async persist(): Promise<void> {
    if (this.persistedCount === this.countValue) return;
    // Entries appended while this write is in flight are not in it: remember where it ends.
    const from = this.persistedCount;
    const countWritten = this.countValue;
    const bytes = this.tail.subarray((from - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES, (countWritten - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES);
    await this.files.write(from, bytes);
    this.persistedCount = Math.min(countWritten, this.countValue);
    const keepFrom = Math.max(this.tailStart, Math.min(this.persistedCount, this.countValue - this.hotEntryCount));
    if (keepFrom > this.tailStart) {
      const kept = this.tail.subarray((keepFrom - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES, (this.countValue - this.tailStart) * CONSUME_QUEUE_ENTRY_BYTES);
      this.tail = Buffer.alloc(kept.length + TAIL_SLACK_BYTES); // appends grow it by doubling
      kept.copy(this.tail);
      this.tailStart = keepFrom;
    }
  }

  /** Deletes the queue's files (the log started over without it). */
  async remove(): Promise<void> {
    await this.files.deleteAll();
  }

  async close(): Promise<void> {
    await this.persist();
  }

  /** Deletes the queue's files (before it is rebuilt from the log). */
  static async deleteFiles(files: QueueFiles): Promise<void> {
    await files.deleteAll();
  }

  /** Refills the tail with the last hot entries from the files (all persisted). */
  private async reloadTail(): Promise<void> {
    assert(this.persistedCount === this.countValue, 'the tail is reloaded only when every entry is persisted', { topic: this.topic, queueId: this.queueId });
    const from = Math.max(this.firstFileStart, this.countValue - this.hotEntryCount);
    const parts: Buffer[] = [];
    for (let at = from; at < this.countValue;) {
      const bytes = await this.files.read(at, this.countValue - at);
      assert(bytes.length > 0, 'a consume queue file is shorter than its entry count', { topic: this.topic, queueId: this.queueId, queueOffset: at });
      parts.push(bytes);
      at += bytes.length / CONSUME_QUEUE_ENTRY_BYTES;
    }
    const entries = Buffer.concat(parts);
    this.tail = Buffer.alloc(entries.length + TAIL_SLACK_BYTES);
    entries.copy(this.tail);
    this.tailStart = from;
    this.lastLogOffset = this.countValue > from ? readU64(entries, entries.length - CONSUME_QUEUE_ENTRY_BYTES) : -1;
  }

  /**
   * The first queue offset in [low, high) whose entry is a record at or above `logOffset` (high
   * if none): a binary search, in memory for the tail, one 20-byte read per probe below it.
   * Holes and entries in files retention deleted count as below.
   */
  private async firstAtOrAbove(logOffset: number, low: number, high: number): Promise<number> {
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const entry = await this.probe(middle);
      if (entry === undefined || entry.sizeBytes === 0 || entry.logOffset < logOffset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private async probe(queueOffset: number): Promise<QueueEntry | undefined> {
    const cached = this.cachedEntry(queueOffset);
    if (cached) return cached;
    try {
      const bytes = await this.files.read(queueOffset, 1);
      return bytes.length === CONSUME_QUEUE_ENTRY_BYTES ? entryAt(bytes, 0) : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

export function entryAt(bytes: Buffer, at: number): QueueEntry {
  if (at < 0 || at + CONSUME_QUEUE_ENTRY_BYTES > bytes.length) assert(false, 'a queue entry past the bytes read', { at, length: bytes.length });
  return { logOffset: u64At(bytes, at), sizeBytes: u32At(bytes, at + 8), tagHash: u32At(bytes, at + 12) };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
