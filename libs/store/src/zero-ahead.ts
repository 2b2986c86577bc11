// Zeros written ahead of the log's end in the segment being written (RocketMQ warms its mapped
// files the same way). An fdatasync of bytes written over blocks the file already holds commits no
// filesystem journal transaction (no block allocation, no size change): on ext4 it is about half
// as long, and its p99 a third, of one after an append that grows the file (docs/performance.md,
// wave 7). The zeros are written after the data they follow, by the same synchronous call path,
// so the next fdatasync of the segment covers them; a step is taken only when less than half the
// window is left, so one group commit in many carries the zeros and the journal commit.
// Recovery reads zeros after the last record to the end of the file as the end of the log
// (log-recovery.ts), exactly as if the file ended there.
import { fstatSync } from 'node:fs';
import type { FileIo } from './file-io';

export class ZeroAhead {
  /** Per segment written since open: the file offset up to which the file holds data or zeros. */
  private readonly ends = new Map<number, number>();
  private zeros: Buffer | undefined;

  /** `windowBytes` of zeros are kept ahead of the data (0: none, the file grows with each append). */
  constructor(
    private readonly windowBytes: number,
    private readonly segmentSizeBytes: number,
    private readonly fileIo: FileIo,
  ) {}

  /**
   * Called after data was written to a segment up to `dataEnd` (a file offset): writes zeros up to
   * `windowBytes` past it when less than half the window is left. A failure here is not the data's
   * (it is written): the zeros are tried again after the next write.
   */
  extend(segmentStart: number, path: string, fd: number, dataEnd: number): void {
    if (this.windowBytes === 0) return;
    let end = Math.max(this.ends.get(segmentStart) ?? fstatSync(fd).size, dataEnd);
    if (end - dataEnd < this.windowBytes / 2 && end < this.segmentSizeBytes) {
      const target = Math.min(this.segmentSizeBytes, dataEnd + this.windowBytes);
      this.zeros ??= Buffer.alloc(this.windowBytes);
      try {
        while (end < target) {
          const written = this.fileIo.writevSync(path, fd, [this.zeros.subarray(0, target - end)], end);
          if (written <= 0) break;
          end += written;
        }
      } catch {
        // Disk full or failing: the data's own writes and fdatasyncs report it; the zeros wait.
      }
    }
    this.ends.set(segmentStart, end);
  }

  /** The segment's file changed under us (truncated, deleted): its end is read again when next written. */
  forget(segmentStart?: number): void {
    if (segmentStart === undefined) this.ends.clear();
    else this.ends.delete(segmentStart);
  }
}
