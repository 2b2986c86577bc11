// The index of one (topic, queueId): fixed 20-byte entries (logOffset u64, sizeBytes u32,
// tagHash u32, reserved u32), so entry n sits at byte n * 20 and lookup is O(1).
// Entries live in memory and are appended to the queue's file on persist(); the checkpoint
// records how far of the log every queue file is complete, and recovery re-dispatches the rest.
// Retention: entries whose record was deleted are below minQueueOffset; they stay in the file
// (queue offsets are file positions) but are dropped from memory once persisted.
import { constants } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { assert } from '@rmq/base';
import { readU64, writeU64 } from './record';

export const CONSUME_QUEUE_ENTRY_BYTES = 20;

export interface QueueEntry {
  logOffset: number;
  sizeBytes: number;
  tagHash: number;
}

export class ConsumeQueue {
  /** Entries [baseQueueOffset, countValue); entry n sits at (n - baseQueueOffset) * 20. */
  private entries: Buffer;
  private countValue = 0;
  private persistedCount = 0;
  /** Retention: the first entry whose record still exists. */
  private minQueueOffsetValue = 0;
  /** Retention: the first entry still held in memory (≤ minQueueOffsetValue). */
  private baseQueueOffset = 0;
  private file: FileHandle | undefined;
  /** The file may hold entries beyond persistedCount (a truncation since): cut it before writing. */
  private fileTailStale = false;

  private constructor(
    readonly topic: string,
    readonly queueId: number,
    private readonly path: string,
    initial: Buffer,
  ) {
    this.entries = Buffer.alloc(Math.max(initial.length * 2, 64 * CONSUME_QUEUE_ENTRY_BYTES));
    initial.copy(this.entries);
    this.countValue = initial.length / CONSUME_QUEUE_ENTRY_BYTES;
    this.persistedCount = this.countValue;
  }

  /** Loads the queue's file; entries at or beyond `logEndOffset` are dropped (not yet dispatched). */
  static async load(topic: string, queueId: number, path: string, logEndOffset: number): Promise<ConsumeQueue> {
    let bytes = Buffer.alloc(0);
    try {
      const file = await open(path, 'r');
      try {
        bytes = await file.readFile();
      } finally {
        await file.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    let count = Math.floor(bytes.length / CONSUME_QUEUE_ENTRY_BYTES);
    while (count > 0 && readU64(bytes, (count - 1) * CONSUME_QUEUE_ENTRY_BYTES) >= logEndOffset) count--;
    const queue = new ConsumeQueue(topic, queueId, path, bytes.subarray(0, count * CONSUME_QUEUE_ENTRY_BYTES));
    queue.fileTailStale = bytes.length !== count * CONSUME_QUEUE_ENTRY_BYTES;
    return queue;
  }

  /**
   * A queue with no entries yet. `firstQueueOffset` > 0 when it is rebuilt from a log whose
   * start retention deleted: its file then has a hole (zeros) below that entry.
   */
  static empty(topic: string, queueId: number, path: string, firstQueueOffset = 0): ConsumeQueue {
    const queue = new ConsumeQueue(topic, queueId, path, Buffer.alloc(0));
    queue.countValue = queue.persistedCount = queue.minQueueOffsetValue = queue.baseQueueOffset = firstQueueOffset;
    queue.fileTailStale = true; // a file left from before (a rebuild) is cut to the first entry
    return queue;
  }

  /** Entries whose record starts below `logOffset` (entries are in log order). */
  countBelowLogOffset(logOffset: number): number {
    let low = this.baseQueueOffset;
    let high = this.countValue;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.logOffsetAt(middle) < logOffset) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  get count(): number {
    return this.countValue;
  }

  /** The first readable entry: entries below it point at records retention deleted. */
  get minQueueOffset(): number {
    return this.minQueueOffsetValue;
  }

  append(entry: QueueEntry): number {
    const at = (this.countValue - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    if (at + CONSUME_QUEUE_ENTRY_BYTES > this.entries.length) {
      const grown = Buffer.alloc(this.entries.length * 2);
      this.entries.copy(grown, 0, 0, at);
      this.entries = grown;
    }
    if (this.countValue > this.baseQueueOffset) {
      const last = readU64(this.entries, at - CONSUME_QUEUE_ENTRY_BYTES);
      assert(entry.logOffset > last, 'consume queue log offsets must grow', { topic: this.topic, queueId: this.queueId, last, next: entry.logOffset });
    }
    writeU64(this.entries, at, entry.logOffset);
    this.entries.writeUInt32BE(entry.sizeBytes, at + 8);
    this.entries.writeUInt32BE(entry.tagHash >>> 0, at + 12);
    this.entries.writeUInt32BE(0, at + 16);
    return this.countValue++;
  }

  entry(queueOffset: number): QueueEntry | undefined {
    if (queueOffset < this.minQueueOffsetValue || queueOffset >= this.countValue) return undefined;
    const at = (queueOffset - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    return {
      logOffset: readU64(this.entries, at),
      sizeBytes: this.entries.readUInt32BE(at + 8),
      tagHash: this.entries.readUInt32BE(at + 12),
    };
  }

  /** Drops entries at or beyond `logOffset` (the log was cut below them during recovery). */
  truncateFromLogOffset(logOffset: number): void {
    while (this.countValue > this.baseQueueOffset && this.logOffsetAt(this.countValue - 1) >= logOffset) this.countValue--;
    if (this.countValue < this.persistedCount) this.fileTailStale = true;
    this.persistedCount = Math.min(this.persistedCount, this.countValue);
    this.minQueueOffsetValue = Math.min(this.minQueueOffsetValue, this.countValue);
  }

  /**
   * Retention: the log now starts at `logOffsetMin`, so the queue starts at its first entry at or
   * above it (every entry if none is). Only moves forward. Persisted entries below it leave memory.
   */
  advanceMinToLogOffset(logOffsetMin: number): number {
    let low = this.minQueueOffsetValue;
    let high = this.countValue;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.logOffsetAt(middle) < logOffsetMin) low = middle + 1;
      else high = middle;
    }
    this.minQueueOffsetValue = low;
    const droppable = Math.min(this.minQueueOffsetValue, this.persistedCount) - this.baseQueueOffset;
    // Compacts only when it frees at least half the buffer, so the copy cost stays amortised.
    if (droppable >= 1024 && droppable * 2 >= this.countValue - this.baseQueueOffset) {
      const keepFrom = droppable * CONSUME_QUEUE_ENTRY_BYTES;
      const keepTo = (this.countValue - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
      const kept = Buffer.alloc(Math.max((keepTo - keepFrom) * 2, 64 * CONSUME_QUEUE_ENTRY_BYTES));
      this.entries.copy(kept, 0, keepFrom, keepTo);
      this.entries = kept;
      this.baseQueueOffset += droppable;
    }
    return this.minQueueOffsetValue;
  }

  private logOffsetAt(queueOffset: number): number {
    return readU64(this.entries, (queueOffset - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES);
  }

  /** Writes entries not yet in the file, then fsyncs it. */
  async persist(): Promise<void> {
    if (this.persistedCount === this.countValue && !this.fileTailStale) return;
    if (!this.file) {
      await mkdir(dirname(this.path), { recursive: true });
      this.file = await open(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
    }
    if (this.fileTailStale) {
      // Drops a stale tail beyond the valid entries (entries past a recovered or truncated log end).
      this.fileTailStale = false;
      await this.file.truncate(this.persistedCount * CONSUME_QUEUE_ENTRY_BYTES);
      if (this.persistedCount === this.countValue) return void (await this.file.datasync());
    }
    // Entries appended while this write is in flight are not in it: remember where it ends.
    const countWritten = this.countValue;
    const from = (this.persistedCount - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    const to = (countWritten - this.baseQueueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    await this.file.write(this.entries.subarray(from, to), 0, to - from, this.persistedCount * CONSUME_QUEUE_ENTRY_BYTES);
    await this.file.datasync();
    this.persistedCount = Math.min(countWritten, this.countValue);
  }

  /** Closes and deletes the queue's file (the log started over without it). */
  async remove(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
    await rm(this.path, { force: true });
  }

  async close(): Promise<void> {
    await this.persist();
    await this.file?.close();
    this.file = undefined;
  }
}
