// The commit log: one append-only byte sequence shared by every topic and queue, cut into
// fixed-size segment files named by their 20-digit start offset. A record never spans two
// segments; a segment's unused tail starts with a blank record.
import { constants } from 'node:fs';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '@rmq/base';
import { BLANK_RECORD_BYTES_MIN, checkRecord, decodeRecord, encodeBlank, type StoredRecord } from './record';

const SEGMENT_NAME = /^\d{20}$/;

export interface Chunk {
  logOffset: number;
  bytes: Buffer;
}

export interface RecoveryReport {
  scannedFromLogOffset: number;
  logEndOffset: number;
  recordsReplayed: number;
  /** Set when recovery cut the log: where and why. */
  truncated?: { atLogOffset: number; reason: string; segmentsRemoved: number };
}

export class CommitLog {
  private readonly segments = new Map<number, FileHandle>();
  private reservedEnd: number;

  private constructor(
    private readonly dir: string,
    readonly segmentSizeBytes: number,
    logEndOffset: number,
  ) {
    this.reservedEnd = logEndOffset;
  }

  /**
   * Opens the log and replays every valid record from `replayFromLogOffset` through `onRecord`.
   * The first torn or corrupt record ends the log: the segment is cut there and later segments
   * are removed, so nothing half-written can ever be read.
   */
  static async open(
    dir: string,
    segmentSizeBytes: number,
    replayFromLogOffset: number,
    onRecord: (record: StoredRecord) => void,
  ): Promise<{ log: CommitLog; report: RecoveryReport }> {
    await mkdir(dir, { recursive: true });
    const starts = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).map(Number).sort((a, b) => a - b);
    for (const start of starts) assert(start % segmentSizeBytes === 0, 'segment start is not a multiple of the segment size; was the segment size changed?', { start, segmentSizeBytes });
    const firstStart = starts[0] ?? 0;
    let at = Math.max(replayFromLogOffset, firstStart);
    const report: RecoveryReport = { scannedFromLogOffset: at, logEndOffset: at, recordsReplayed: 0 };
    if (starts.length === 0) return { log: new CommitLog(dir, segmentSizeBytes, 0), report };

    let truncated: { atLogOffset: number; reason: string } | undefined;
    scan: for (;;) {
      const segmentStart = at - (at % segmentSizeBytes);
      if (!starts.includes(segmentStart)) break;
      const bytes = await readFrom(join(dir, segmentName(segmentStart)), at - segmentStart);
      let position = 0;
      for (;;) {
        const check = checkRecord(bytes, position, at);
        if (check.kind === 'record') {
          onRecord(decodeRecord(bytes.subarray(position, position + check.sizeBytes)));
          report.recordsReplayed++;
          position += check.sizeBytes;
          at += check.sizeBytes;
        } else if (check.kind === 'blank') {
          at = segmentStart + segmentSizeBytes;
          continue scan;
        } else {
          if (check.kind === 'invalid') truncated = { atLogOffset: at, reason: check.reason };
          else if (position < bytes.length) truncated = { atLogOffset: at, reason: 'incomplete record at the end (torn write)' };
          break scan;
        }
      }
    }
    report.logEndOffset = at;
    const log = new CommitLog(dir, segmentSizeBytes, at);
    const lastStart = at - (at % segmentSizeBytes);
    let segmentsRemoved = 0;
    for (const start of starts.filter((start) => start > lastStart)) {
      await rm(join(dir, segmentName(start)));
      segmentsRemoved++;
    }
    if (starts.includes(lastStart)) {
      const file = await log.segment(lastStart);
      const { size } = await file.stat();
      if (size > at - lastStart) {
        await file.truncate(at - lastStart);
        await file.datasync();
      }
    }
    if (truncated) report.truncated = { ...truncated, segmentsRemoved };
    return { log, report };
  }

  /** The log offset the next reserved record gets. */
  get endOffset(): number {
    return this.reservedEnd;
  }

  /**
   * Reserves room for a record of `sizeBytes`. When it does not fit in the current segment, a
   * blank chunk fills the segment's tail first and the record starts the next segment.
   */
  reserve(sizeBytes: number): { logOffset: number; blank?: Chunk } {
    assert(sizeBytes + BLANK_RECORD_BYTES_MIN <= this.segmentSizeBytes, 'record larger than a segment', { sizeBytes, segmentSizeBytes: this.segmentSizeBytes });
    const used = this.reservedEnd % this.segmentSizeBytes;
    const free = this.segmentSizeBytes - used;
    let blank: Chunk | undefined;
    const fits = sizeBytes === free || sizeBytes + BLANK_RECORD_BYTES_MIN <= free;
    if (!fits) {
      blank = { logOffset: this.reservedEnd, bytes: encodeBlank(free) };
      this.reservedEnd += free;
    }
    const logOffset = this.reservedEnd;
    this.reservedEnd += sizeBytes;
    return { logOffset, blank };
  }

  /** Writes contiguous chunks (in log order) with one write per segment touched. */
  async write(chunks: Chunk[]): Promise<number[]> {
    const touched: number[] = [];
    let i = 0;
    while (i < chunks.length) {
      const segmentStart = chunks[i].logOffset - (chunks[i].logOffset % this.segmentSizeBytes);
      let j = i + 1;
      while (j < chunks.length && chunks[j].logOffset - (chunks[j].logOffset % this.segmentSizeBytes) === segmentStart) j++;
      const bytes = j - i === 1 ? chunks[i].bytes : Buffer.concat(chunks.slice(i, j).map((chunk) => chunk.bytes));
      const file = await this.segment(segmentStart);
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await file.write(bytes, written, bytes.length - written, chunks[i].logOffset - segmentStart + written);
        written += bytesWritten;
      }
      touched.push(segmentStart);
      i = j;
    }
    return touched;
  }

  async datasync(segmentStarts: number[]): Promise<void> {
    for (const start of segmentStarts) await (await this.segment(start)).datasync();
  }

  async read(logOffset: number, sizeBytes: number): Promise<Buffer> {
    const segmentStart = logOffset - (logOffset % this.segmentSizeBytes);
    const file = await this.segment(segmentStart);
    const bytes = Buffer.allocUnsafe(sizeBytes);
    const { bytesRead } = await file.read(bytes, 0, sizeBytes, logOffset - segmentStart);
    assert(bytesRead === sizeBytes, 'short read from the commit log', { logOffset, sizeBytes, bytesRead });
    return bytes;
  }

  async close(): Promise<void> {
    for (const file of this.segments.values()) {
      await file.datasync();
      await file.close();
    }
    this.segments.clear();
  }

  private async segment(start: number): Promise<FileHandle> {
    let file = this.segments.get(start);
    if (!file) {
      file = await open(join(this.dir, segmentName(start)), constants.O_RDWR | constants.O_CREAT, 0o644);
      this.segments.set(start, file);
    }
    return file;
  }
}

export function segmentName(start: number): string {
  return String(start).padStart(20, '0');
}

async function readFrom(path: string, position: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const bytes = Buffer.alloc(Math.max(0, size - position));
    if (bytes.length > 0) await file.read(bytes, 0, bytes.length, position);
    return bytes;
  } finally {
    await file.close();
  }
}
