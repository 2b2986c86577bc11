// Reads on the main thread, for bytes the page cache most likely holds. An asynchronous read is a
// round trip through libuv's thread pool: on this 2-core machine it costs 20-35 µs of CPU even for
// 20 bytes (submitting, waking a worker, waking the loop again), while a synchronous read of 256 KiB
// from the page cache costs about 40 µs in all and one of a few queue entries about 1 µs
// (docs/performance.md, wave 5). So the store reads its newest data synchronously: the last
// `windowBytes` of the log (written moments ago: still cached; RocketMQ, which reads through mmap,
// treats everything within 40% of RAM of the log's end as in memory) and the queue entries that
// point there. A synchronous read that takes long all the same (the page cache had dropped the
// bytes, so it waited for the disk and blocked everything else meanwhile) turns synchronous reads
// off for the next few reads, twice as many after each slow one in a row.

export interface SyncReadSettings {
  /** Bytes at the log's end read synchronously; 0: none. */
  windowBytes: number;
  /** A synchronous read slower than this is taken for a disk read. */
  slowReadMs: number;
  /** Reads done asynchronously after a slow one, doubled after each further slow one, up to... */
  backoffReadsMin: number;
  /** ...this. */
  backoffReadsMax: number;
}

export class SyncReads {
  private asyncReadsLeft = 0;
  private backoffReads = 0;
  /** Synchronous reads done, and how many of them were slow (observability, tests). */
  readonly counts = { sync: 0, slow: 0 };

  constructor(
    private readonly settings: SyncReadSettings,
    private readonly elapsedMs: () => number = () => performance.now(),
  ) {}

  get windowBytes(): number {
    return this.settings.windowBytes;
  }

  /** Whether the next read of recent bytes may be synchronous (not for a while after a slow one). */
  allowed(): boolean {
    if (this.settings.windowBytes <= 0) return false;
    if (this.asyncReadsLeft === 0) return true;
    this.asyncReadsLeft--;
    return false;
  }

  /** Runs a synchronous read (asked for with allowed()) and times it. */
  run<T>(read: () => T): T {
    const startedMs = this.elapsedMs();
    try {
      return read();
    } finally {
      this.tookMs(this.elapsedMs() - startedMs);
    }
  }

  private tookMs(durationMs: number): void {
    this.counts.sync++;
    if (durationMs <= this.settings.slowReadMs) {
      this.backoffReads >>>= 1;
      return;
    }
    this.counts.slow++;
    this.backoffReads = Math.min(this.settings.backoffReadsMax, Math.max(this.settings.backoffReadsMin, this.backoffReads * 2));
    this.asyncReadsLeft = this.backoffReads;
  }
}
