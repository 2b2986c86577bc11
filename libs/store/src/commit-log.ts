// The commit log: one append-only byte sequence shared by every topic and queue, cut into
// fixed-size segment files named by their 20-digit start offset. A record never spans two
// segments; a segment's unused tail starts with a blank record.
import { constants } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, truncate, type FileHandle } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assert, RmqError } from '@rmq/base';
import { BLANK_RECORD_BYTES_MIN } from './record';
import type { StoredRecord } from './record-view';
import { scanToValidEnd, segmentFileName, segmentFilePath } from './log-recovery';
import { nodeFileIo, type FileIo } from './file-io';
import type { SyncReads } from './sync-reads';
import { ZeroAhead } from './zero-ahead';

const SEGMENT_NAME = /^\d{20}$/;
/** Owner only: the log holds the broker's state records, user secrets and the receipt-handle key among them. */
const SEGMENT_FILE_MODE = 0o600;

export interface Chunk {
  logOffset: number;
  bytes: Buffer;
  /** A reader was handed a view of these bytes (recent-writes.ts): their slab is never reused (append-buffer.ts). */
  exposed?: boolean;
}

export interface RecoveryReport {
  scannedFromLogOffset: number;
  logEndOffset: number;
  recordsReplayed: number;
  /** Set when recovery cut the log: where and why. */
  truncated?: { atLogOffset: number; reason: string; segmentsRemoved: number };
  /** Set when damage below the checkpoint was accepted (DamagePolicy): where the segments went. */
  movedAside?: { atLogOffset: number; reason: string; movedTo: string[] };
}

/**
 * What recovery does when the log is damaged below the checkpoint (data acknowledged and once on
 * disk): refuse to open (STORE_DAMAGED), or, with acceptDataLoss, move the damaged segment and
 * every later one into `asideDir` (renamed, never deleted) and go on with the log cut there.
 */
export interface DamagePolicy {
  acceptDataLoss: boolean;
  asideDir: string;
  /** Suffix of the moved files, so a second damage never overwrites the first. */
  nowMs: () => number;
}

/** A segment file as retention sees it (retention.ts). */
export interface SegmentInfo {
  startLogOffset: number;
  sizeBytes: number;
  lastModifiedMs: number;
}

export class CommitLog {
  private readonly segments = new Map<number, FileHandle>();
  private readonly opening = new Map<number, Promise<FileHandle>>();
  private reservedEnd: number;
  /** Start of the oldest segment on disk; retention moves it forward (see the section below). */
  private firstSegmentStart: number;
  /** Handles of deleted segments, closed on the next retention pass so reads in flight finish. */
  private retiredHandles: FileHandle[] = [];
  /** Bumped when bytes already in the log may change (cut back, started over): read caches start over. */
  generation = 0;
  /** Observability: called after each fdatasync of a segment (an fsync latency histogram). */
  onDatasync: ((segmentStart: number, durationMs: number) => void) | undefined;
  private readonly zeroAhead: ZeroAhead;

  private constructor(
    private readonly dir: string,
    readonly segmentSizeBytes: number,
    logEndOffset: number,
    firstSegmentStart: number,
    private readonly fileIo: FileIo,
    private readonly syncReads: SyncReads | undefined,
    zeroAheadBytes: number,
  ) {
    this.reservedEnd = logEndOffset;
    this.firstSegmentStart = firstSegmentStart;
    this.zeroAhead = new ZeroAhead(zeroAheadBytes, segmentSizeBytes, fileIo);
  }

  /**
   * Opens the log and replays every valid record from `replayFromLogOffset` through `onRecord`.
   * The first torn or corrupt record ends the log: the segment is cut there and later segments
   * are removed, so nothing half-written can ever be read. When `replayFromLogOffset` lies past
   * the data on disk (a checkpoint ahead of what a machine crash kept), the scan starts at the
   * beginning of the last segment at or below it instead, so the real end is found.
   */
  static async open(
    dir: string,
    segmentSizeBytes: number,
    replayFromLogOffset: number,
    /** May return a promise (the dispatcher persisting what it holds): the scan waits for it. */
    onRecord: (record: StoredRecord) => unknown,
    options: { damage?: DamagePolicy & { checkpointLogOffset: number }; fileIo?: FileIo; syncReads?: SyncReads; zeroAheadBytes?: number } = {},
  ): Promise<{ log: CommitLog; report: RecoveryReport }> {
    const { damage, fileIo = nodeFileIo, syncReads, zeroAheadBytes = 0 } = options;
    await mkdir(dir, { recursive: true });
    const starts = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).map(Number).sort((a, b) => a - b);
    for (const start of starts) assert(start % segmentSizeBytes === 0, 'segment start is not a multiple of the segment size; was the segment size changed?', { start, segmentSizeBytes });
    if (starts.length === 0) {
      return { log: new CommitLog(dir, segmentSizeBytes, 0, 0, fileIo, syncReads, zeroAheadBytes), report: { scannedFromLogOffset: 0, logEndOffset: 0, recordsReplayed: 0 } };
    }
    const firstStart = starts[0];
    const startSet = new Set(starts);
    const scanFrom = await scanStart(dir, starts, segmentSizeBytes, Math.max(replayFromLogOffset, firstStart));
    const end = await scanToValidEnd(startSet, segmentSizeBytes, segmentFilePath(dir), scanFrom, onRecord);
    const at = end.logEndOffset;
    const report: RecoveryReport = { scannedFromLogOffset: scanFrom, logEndOffset: at, recordsReplayed: end.recordsReplayed };
    const log = new CommitLog(dir, segmentSizeBytes, at, firstStart, fileIo, syncReads, zeroAheadBytes);
    const lastStart = at - (at % segmentSizeBytes);
    const laterSegments = starts.some((start) => start > lastStart);
    if (damage && at < damage.checkpointLogOffset && (end.cut || laterSegments)) {
      const reason = end.cut?.reason ?? 'the segment file ends early and later segments follow';
      if (!damage.acceptDataLoss) {
        throw new RmqError('STORE_DAMAGED', {
          segment: join(dir, segmentName(lastStart)), logOffset: at, reason, checkpointLogOffset: damage.checkpointLogOffset,
          action: `restore the segment from a replica or a backup, or start with --accept-data-loss (store option acceptDataLoss) to move it and the ${starts.filter((start) => start > lastStart).length} later segment(s) aside into ${damage.asideDir} and go on without them`,
        });
      }
      const movedTo = await moveAside(dir, starts.filter((start) => start >= lastStart), at, segmentSizeBytes, damage);
      return { log, report: { ...report, movedAside: { atLogOffset: at, reason, movedTo } } };
    }
    let segmentsRemoved = 0;
    for (const start of starts.filter((start) => start > lastStart)) {
      await rm(join(dir, segmentName(start)));
      segmentsRemoved++;
    }
    if (startSet.has(lastStart)) {
      const file = await log.segment(lastStart);
      const { size } = await file.stat();
      if (size > at - lastStart && !end.zeroTail) {
        await file.truncate(at - lastStart);
        await file.datasync();
      }
    }
    if (end.cut) report.truncated = { ...end.cut, segmentsRemoved };
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
  reserve(sizeBytes: number): { logOffset: number; blank?: { logOffset: number; sizeBytes: number } } {
    const placement = placeRecord(this.reservedEnd, sizeBytes, this.segmentSizeBytes);
    this.reservedEnd = placement.logOffset + sizeBytes;
    return placement;
  }

  /** Fills the rest of the current segment with a blank (a replica copying one); undefined at a segment start. */
  padSegment(): { logOffset: number; sizeBytes: number } | undefined {
    const used = this.reservedEnd % this.segmentSizeBytes;
    if (used === 0) return undefined;
    const blank = { logOffset: this.reservedEnd, sizeBytes: this.segmentSizeBytes - used };
    this.reservedEnd += blank.sizeBytes;
    return blank;
  }

  /**
   * Cuts the log back to `logOffset` (a record boundary): later segments are deleted, the one
   * holding it is truncated there. Nothing may be reserved and unwritten.
   */
  async truncateTo(logOffset: number): Promise<void> {
    this.generation++;
    assert(logOffset >= this.firstSegmentStart && logOffset <= this.reservedEnd, 'truncation outside the log', { logOffset, minOffset: this.firstSegmentStart, endOffset: this.reservedEnd });
    const keepStart = logOffset - (logOffset % this.segmentSizeBytes);
    // At a segment boundary the segment starting there holds only what goes; otherwise the one
    // holding logOffset is cut and the later ones go.
    const atBoundary = logOffset === keepStart && logOffset > this.firstSegmentStart;
    const deleteFrom = atBoundary ? logOffset : keepStart + this.segmentSizeBytes;
    const starts = (await readdir(this.dir)).filter((name) => SEGMENT_NAME.test(name)).map(Number);
    this.zeroAhead.forget();
    for (const start of starts.filter((start) => start >= deleteFrom)) {
      const file = this.segments.get(start);
      this.segments.delete(start);
      await file?.close();
      await rm(join(this.dir, segmentName(start)), { force: true });
    }
    if (!atBoundary && starts.includes(keepStart)) {
      const file = await this.segment(keepStart);
      await file.truncate(logOffset - keepStart);
      await file.datasync();
    }
    this.reservedEnd = logOffset;
  }

  /** Deletes every segment; the log starts empty at `logOffset` (a segment start). Nothing may be reserved and unwritten. */
  async restartAt(logOffset: number): Promise<void> {
    this.generation++;
    assert(logOffset % this.segmentSizeBytes === 0, 'a log starts at a segment boundary', { logOffset });
    this.zeroAhead.forget();
    for (const [start, file] of this.segments) {
      this.segments.delete(start);
      await file.close();
    }
    for (const name of (await readdir(this.dir)).filter((name) => SEGMENT_NAME.test(name))) await rm(join(this.dir, name), { force: true });
    this.firstSegmentStart = logOffset;
    this.reservedEnd = logOffset;
  }

  /**
   * Writes contiguous chunks (in log order) with one pwritev per segment touched. The write is
   * synchronous: it only reaches the page cache, and a batch of tens of KiB takes less time than
   * the thread-pool round trip of an asynchronous write. fdatasync (milliseconds) stays async.
   */
  async write(chunks: Chunk[]): Promise<number[]> {
    const touched: number[] = [];
    let i = 0;
    while (i < chunks.length) {
      const segmentStart = chunks[i].logOffset - (chunks[i].logOffset % this.segmentSizeBytes);
      let j = i + 1;
      while (j < chunks.length && chunks[j].logOffset - (chunks[j].logOffset % this.segmentSizeBytes) === segmentStart) j++;
      const file = await this.segment(segmentStart);
      let buffers = chunks.slice(i, j).map((chunk) => chunk.bytes);
      let position = chunks[i].logOffset - segmentStart;
      const last = chunks[j - 1];
      assert(last.logOffset + last.bytes.length <= segmentStart + this.segmentSizeBytes, 'a write runs past the end of its segment', { segmentStart, logOffset: last.logOffset, sizeBytes: last.bytes.length });
      for (;;) {
        let written = this.fileIo.writevSync(this.segmentPath(segmentStart), file.fd, buffers, position);
        position += written;
        while (buffers.length > 0 && written >= buffers[0].length) written -= buffers.shift()!.length;
        if (buffers.length === 0) break;
        buffers = [buffers[0].subarray(written), ...buffers.slice(1)]; // a short write: go on from there
      }
      this.zeroAhead.extend(segmentStart, this.segmentPath(segmentStart), file.fd, position);
      touched.push(segmentStart);
      i = j;
    }
    return touched;
  }

  async datasync(segmentStarts: number[]): Promise<void> {
    for (const start of segmentStarts) {
      if (start < this.firstSegmentStart) continue; // deleted by retention: nothing left to sync
      const startedMs = performance.now();
      await this.fileIo.datasync(this.segmentPath(start), await this.segment(start));
      this.onDatasync?.(start, performance.now() - startedMs);
    }
  }

  async read(logOffset: number, sizeBytes: number): Promise<Buffer> {
    const bytes = Buffer.allocUnsafe(sizeBytes);
    const bytesRead = await this.readInto(bytes, logOffset, sizeBytes);
    assert(bytesRead === sizeBytes, 'short read from the commit log', { logOffset, sizeBytes, bytesRead });
    return bytes;
  }

  async close(): Promise<void> {
    for (const [start, file] of this.segments) {
      await this.fileIo.datasync(this.segmentPath(start), file);
      await file.close();
    }
    this.segments.clear();
    await this.releaseRetiredHandles();
  }

  // --- Retention and scanning support (retention.ts, log-scan.ts) -------------------------------
  // Segments are deleted oldest first and never the active one, so the log on disk is always
  // one contiguous range [minOffset, endOffset).

  /** The first log offset still on disk: the start of the oldest segment. */
  get minOffset(): number {
    return this.firstSegmentStart;
  }

  /** Segment files in log order, with size and last write time; the last one is the active segment. */
  async segmentInfos(): Promise<SegmentInfo[]> {
    const starts = (await readdir(this.dir)).filter((name) => SEGMENT_NAME.test(name)).map(Number).sort((a, b) => a - b);
    const infos: SegmentInfo[] = [];
    for (const start of starts) {
      if (start < this.firstSegmentStart) continue; // deleted while we listed
      try {
        const { size, mtimeMs } = await stat(join(this.dir, segmentName(start)));
        infos.push({ startLogOffset: start, sizeBytes: size, lastModifiedMs: mtimeMs });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return infos;
  }

  /**
   * Deletes the oldest segment, which must be `start` and must not hold the log end. Reads of it
   * fail with NOT_FOUND from now on; a read already holding its handle still completes.
   */
  async deleteOldestSegment(start: number): Promise<void> {
    const activeStart = Math.max(0, this.reservedEnd - 1) - (Math.max(0, this.reservedEnd - 1) % this.segmentSizeBytes);
    assert(start === this.firstSegmentStart, 'only the oldest segment may be deleted', { start, firstSegmentStart: this.firstSegmentStart });
    assert(start < activeStart, 'the active segment must never be deleted', { start, activeStart, logEndOffset: this.reservedEnd });
    this.firstSegmentStart = start + this.segmentSizeBytes;
    this.zeroAhead.forget(start);
    const file = this.segments.get(start);
    if (file) {
      this.segments.delete(start);
      this.retiredHandles.push(file);
    }
    await rm(join(this.dir, segmentName(start)), { force: true });
  }

  /** Closes the handles of segments deleted earlier (call between retention passes). */
  async releaseRetiredHandles(): Promise<void> {
    const retired = this.retiredHandles;
    this.retiredHandles = [];
    for (const file of retired) await file.close();
  }

  /** Reads up to `sizeBytesMax` bytes from `logOffset`, within one segment; fewer at the segment file's end. */
  async readUpTo(logOffset: number, sizeBytesMax: number): Promise<Buffer> {
    const segmentStart = logOffset - (logOffset % this.segmentSizeBytes);
    const sizeBytes = Math.min(sizeBytesMax, segmentStart + this.segmentSizeBytes - logOffset);
    const bytes = Buffer.allocUnsafe(sizeBytes);
    return bytes.subarray(0, await this.readInto(bytes, logOffset, sizeBytes));
  }

  /**
   * Reads within one segment into `bytes`; the bytes read (fewer at the file's end). The log's
   * newest stretch is read on the main thread when its segment is open (sync-reads.ts).
   */
  private async readInto(bytes: Buffer, logOffset: number, sizeBytes: number): Promise<number> {
    const segmentStart = logOffset - (logOffset % this.segmentSizeBytes);
    const open = this.segments.get(segmentStart);
    if (open && this.syncReads && logOffset >= this.reservedEnd - this.syncReads.windowBytes && this.syncReads.allowed()) {
      return this.syncReads.run(() => this.fileIo.readSync(this.segmentPath(segmentStart), open.fd, bytes, 0, sizeBytes, logOffset - segmentStart));
    }
    const file = await this.segment(segmentStart, false);
    return (await file.read(bytes, 0, sizeBytes, logOffset - segmentStart)).bytesRead;
  }

  private segmentPath(start: number): string {
    return join(this.dir, segmentName(start));
  }

  /** The handle of a segment; only the write path may create one. A deleted segment is NOT_FOUND. */
  private async segment(start: number, create = true): Promise<FileHandle> {
    const file = this.segments.get(start);
    if (file) return file;
    // Concurrent callers share one open, so no handle is opened twice and leaked.
    let opening = this.opening.get(start);
    if (!opening) {
      opening = this.openSegment(start, create).finally(() => this.opening.delete(start));
      this.opening.set(start, opening);
    }
    return opening;
  }

  private async openSegment(start: number, create: boolean): Promise<FileHandle> {
    if (start < this.firstSegmentStart) throw segmentGone(start);
    let file: FileHandle;
    try {
      file = await open(join(this.dir, segmentName(start)), create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR, SEGMENT_FILE_MODE);
    } catch (error) {
      if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT' && start < this.firstSegmentStart) throw segmentGone(start);
      throw error;
    }
    if (start < this.firstSegmentStart) {
      await file.close(); // deleted while it was being opened
      throw segmentGone(start);
    }
    this.segments.set(start, file);
    return file;
  }
}

function segmentGone(start: number): RmqError {
  return new RmqError('NOT_FOUND', { what: 'commit log segment', name: `${segmentName(start)} (deleted by retention)` });
}

export const segmentName = segmentFileName;

/**
 * Where a record of `sizeBytes` goes when the log ends at `endOffset`: right there, or, when it
 * does not fit in the segment, at the next segment's start behind a blank that fills the tail.
 * A record may fill its segment exactly. Master and slave lay records out the same way with it.
 */
export function placeRecord(endOffset: number, sizeBytes: number, segmentSizeBytes: number): { logOffset: number; blank?: { logOffset: number; sizeBytes: number } } {
  if (sizeBytes + BLANK_RECORD_BYTES_MIN > segmentSizeBytes) assert(false, 'record larger than a segment', { sizeBytes, segmentSizeBytes });
  const free = segmentSizeBytes - (endOffset % segmentSizeBytes);
  const fits = sizeBytes === free || sizeBytes + BLANK_RECORD_BYTES_MIN <= free;
  if (fits) return { logOffset: endOffset };
  return { logOffset: endOffset + free, blank: { logOffset: endOffset, sizeBytes: free } };
}

/**
 * Renames the segments from `starts` on into the aside directory, then puts back a copy of the
 * first one's bytes below `logOffset` (the valid records before the damage), so the log stays
 * contiguous and every damaged byte is kept.
 */
async function moveAside(dir: string, starts: number[], logOffset: number, segmentSizeBytes: number, damage: DamagePolicy): Promise<string[]> {
  await mkdir(damage.asideDir, { recursive: true });
  const stamp = damage.nowMs();
  const movedTo: string[] = [];
  for (const start of starts) {
    let target = join(damage.asideDir, `${segmentName(start)}.${stamp}`);
    for (let n = 1; existsSync(target) && n < 1000; n++) target = join(damage.asideDir, `${segmentName(start)}.${stamp}-${n}`);
    await rename(join(dir, segmentName(start)), target);
    movedTo.push(target);
  }
  const keptBytes = logOffset % segmentSizeBytes;
  if (keptBytes > 0) {
    const path = join(dir, segmentName(logOffset - keptBytes));
    await copyFile(movedTo[0], path);
    await truncate(path, keptBytes);
    const file = await open(path, 'r+');
    await file.datasync();
    await file.close();
  }
  return movedTo;
}

/**
 * Where recovery starts reading: `at` itself when its segment exists and holds data up to it (or
 * `at` is the boundary right after an existing segment); otherwise the start of the last segment
 * at or below `at` (or the first segment).
 */
async function scanStart(dir: string, starts: number[], segmentSizeBytes: number, at: number): Promise<number> {
  const segmentStart = at - (at % segmentSizeBytes);
  if (starts.includes(segmentStart)) {
    const { size } = await stat(join(dir, segmentName(segmentStart)));
    if (size >= at - segmentStart) return at;
  } else if (at === segmentStart && starts.includes(segmentStart - segmentSizeBytes)) {
    return at; // the log ends exactly at a segment boundary; the next segment is not made yet
  }
  return starts.filter((start) => start <= at).at(-1) ?? starts[0];
}
