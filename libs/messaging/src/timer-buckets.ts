// The on-disk side of the timer wheel: one append-only file per bucket of due seconds, holding
// 24-byte entries (schedule queue offset u64, log offset u64, size u32, due second u32). The
// files are derived from the timer topic's queue index and rebuilt at every start (the folder
// is emptied first), so they need no fsync and no checkpoint; they keep pending delay messages
// out of memory until their bucket comes close. All file operations run one after another. A
// bucket read back is sorted by due second in one buffer (LoadedBucket): no object per entry
// until its second comes, so loading 10 s of schedules neither stalls the event loop nor fills
// the old generation with entries that wait there for seconds.
import { mkdir, readFile, rm, appendFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readU64, writeU64 } from '@rmq/store';

export const BUCKET_ENTRY_BYTES = 24;

export interface BucketEntry {
  queueOffset: number;
  logOffset: number;
  sizeBytes: number;
  dueSecond: number;
}

export class TimerBuckets {
  private chain: Promise<unknown> = Promise.resolve();
  /** Entries per bucket file, for the on-disk count. */
  private readonly counts = new Map<number, number>();
  private entryCountValue = 0;

  private constructor(
    private readonly dir: string,
    readonly bucketSeconds: number,
  ) {}

  /** Opens the folder empty: whatever a previous run left is stale and rebuilt from the log. */
  static async open(dir: string, bucketSeconds: number): Promise<TimerBuckets> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return new TimerBuckets(dir, bucketSeconds);
  }

  bucketOf(dueSecond: number): number {
    return Math.floor(dueSecond / this.bucketSeconds);
  }

  /** Entries held in files now. */
  get entryCount(): number {
    return this.entryCountValue;
  }

  append(bucket: number, entries: readonly BucketEntry[]): Promise<void> {
    const bytes = Buffer.allocUnsafe(entries.length * BUCKET_ENTRY_BYTES);
    entries.forEach((entry, i) => {
      const at = i * BUCKET_ENTRY_BYTES;
      writeU64(bytes, at, entry.queueOffset);
      writeU64(bytes, at + 8, entry.logOffset);
      bytes.writeUInt32BE(entry.sizeBytes, at + 16);
      bytes.writeUInt32BE(entry.dueSecond, at + 20);
    });
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + entries.length);
    this.entryCountValue += entries.length;
    return this.run(() => appendFile(this.pathOf(bucket), bytes));
  }

  /** Reads a bucket's file and deletes it: its entries are the caller's now. */
  take(bucket: number): Promise<LoadedBucket> {
    return this.run(async () => {
      let bytes: Buffer;
      try {
        bytes = await readFile(this.pathOf(bucket));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return LoadedBucket.of(Buffer.alloc(0));
        throw error;
      }
      await unlink(this.pathOf(bucket));
      this.entryCountValue -= this.counts.get(bucket) ?? 0;
      this.counts.delete(bucket);
      return LoadedBucket.of(bytes);
    });
  }

  /** Waits for every file operation issued so far. */
  settled(): Promise<void> {
    return this.run(async () => undefined);
  }

  private run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.chain.then(operation);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private pathOf(bucket: number): string {
    return join(this.dir, `${bucket * this.bucketSeconds}.bucket`);
  }
}

/** A bucket's entries, grouped by due second in one buffer; each second is taken once. */
export class LoadedBucket {
  private constructor(
    private readonly bytes: Buffer,
    /** Due second -> [first, end) entry index in `bytes`. */
    private readonly ranges: Map<number, [number, number]>,
  ) {}

  /** Sorts the entries by due second (a counting sort; the file's order is kept within a second). */
  static of(bytes: Buffer): LoadedBucket {
    const count = Math.floor(bytes.length / BUCKET_ENTRY_BYTES);
    const counts = new Map<number, number>();
    for (let index = 0; index < count; index++) {
      const second = bytes.readUInt32BE(index * BUCKET_ENTRY_BYTES + 20);
      counts.set(second, (counts.get(second) ?? 0) + 1);
    }
    const ranges = new Map<number, [number, number]>();
    const nextIndex = new Map<number, number>();
    let at = 0;
    for (const second of [...counts.keys()].sort((a, b) => a - b)) {
      ranges.set(second, [at, at + counts.get(second)!]);
      nextIndex.set(second, at);
      at += counts.get(second)!;
    }
    if (ranges.size <= 1) return new LoadedBucket(bytes, ranges);
    const sorted = Buffer.allocUnsafe(count * BUCKET_ENTRY_BYTES);
    for (let index = 0; index < count; index++) {
      const from = index * BUCKET_ENTRY_BYTES;
      const second = bytes.readUInt32BE(from + 20);
      const to = nextIndex.get(second)!;
      nextIndex.set(second, to + 1);
      bytes.copy(sorted, to * BUCKET_ENTRY_BYTES, from, from + BUCKET_ENTRY_BYTES);
    }
    return new LoadedBucket(sorted, ranges);
  }

  /** The entries due in `second` (empty the second time). */
  take(second: number): BucketEntry[] {
    const range = this.ranges.get(second);
    if (!range) return [];
    this.ranges.delete(second);
    const entries: BucketEntry[] = new Array(range[1] - range[0]);
    for (let index = range[0]; index < range[1]; index++) {
      const at = index * BUCKET_ENTRY_BYTES;
      entries[index - range[0]] = {
        queueOffset: readU64(this.bytes, at),
        logOffset: readU64(this.bytes, at + 8),
        sizeBytes: this.bytes.readUInt32BE(at + 16),
        dueSecond: this.bytes.readUInt32BE(at + 20),
      };
    }
    return entries;
  }
}
