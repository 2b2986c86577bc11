// The on-disk side of the timer wheel: one append-only file per bucket of due seconds, holding
// 24-byte entries (schedule queue offset u64, log offset u64, size u32, due second u32). The
// files are derived from the timer topic's queue index and rebuilt at every start (the folder
// is emptied first), so they need no fsync and no checkpoint; they keep pending delay messages
// out of memory until their bucket comes close. All file operations run one after another.
import { mkdir, readFile, rm, appendFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

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
      bytes.writeBigUInt64BE(BigInt(entry.queueOffset), at);
      bytes.writeBigUInt64BE(BigInt(entry.logOffset), at + 8);
      bytes.writeUInt32BE(entry.sizeBytes, at + 16);
      bytes.writeUInt32BE(entry.dueSecond, at + 20);
    });
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + entries.length);
    this.entryCountValue += entries.length;
    return this.run(() => appendFile(this.pathOf(bucket), bytes));
  }

  /** Reads a bucket's file and deletes it: its entries are the caller's now. */
  take(bucket: number): Promise<BucketEntry[]> {
    return this.run(async () => {
      let bytes: Buffer;
      try {
        bytes = await readFile(this.pathOf(bucket));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      await unlink(this.pathOf(bucket));
      this.entryCountValue -= this.counts.get(bucket) ?? 0;
      this.counts.delete(bucket);
      const entries: BucketEntry[] = [];
      for (let at = 0; at + BUCKET_ENTRY_BYTES <= bytes.length; at += BUCKET_ENTRY_BYTES) {
        entries.push({
          queueOffset: Number(bytes.readBigUInt64BE(at)),
          logOffset: Number(bytes.readBigUInt64BE(at + 8)),
          sizeBytes: bytes.readUInt32BE(at + 16),
          dueSecond: bytes.readUInt32BE(at + 20),
        });
      }
      return entries;
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
