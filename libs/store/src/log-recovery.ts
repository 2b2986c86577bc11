// Finding the valid end of the commit log at start-up: records are checked one by one (size,
// magic, CRC32C, the log offset they claim) from a record boundary, reading each segment in
// bounded windows, never a whole segment at once. The first torn or invalid record is the end.
// Zeros from a record boundary to the end of the file are the end too, not damage: the segment
// being written holds zeros ahead of its data (zero-ahead.ts).
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRecord } from './record';
import { decodeRecord, type StoredRecord } from './record-view';
import { STORE_LIMITS } from './limits';

export interface ScanEnd {
  /** The first log offset after the last valid record (where the next record goes). */
  logEndOffset: number;
  recordsReplayed: number;
  /** Set when bytes after the end were not a valid record: where and why. */
  cut?: { atLogOffset: number; reason: string };
  /** The last segment's file holds only zeros after the end (written ahead): kept, not cut. */
  zeroTail?: boolean;
}

/**
 * Replays every valid record from `fromLogOffset` (a record boundary) through `onRecord`, across
 * segments, and says where the valid log ends. `segmentPath` names the file of a segment start;
 * `segmentStarts` are the segments that exist.
 */
export async function scanToValidEnd(
  segmentStarts: ReadonlySet<number>,
  segmentSizeBytes: number,
  segmentPath: (start: number) => string,
  fromLogOffset: number,
  onRecord: (record: StoredRecord) => unknown,
): Promise<ScanEnd> {
  const end: ScanEnd = { logEndOffset: fromLogOffset, recordsReplayed: 0 };
  let at = fromLogOffset;
  for (;;) {
    const segmentStart = at - (at % segmentSizeBytes);
    if (!segmentStarts.has(segmentStart)) break;
    const segmentEnd = segmentStart + segmentSizeBytes;
    const file = await open(segmentPath(segmentStart), 'r');
    let next: 'nextSegment' | 'stop' = 'stop';
    try {
      const fileSizeBytes = (await file.stat()).size;
      let window = Buffer.alloc(0);
      let windowLogOffset = at;
      for (;;) {
        const position = at - windowLogOffset;
        const check = checkRecord(window, position, at);
        if (check.kind === 'record') {
          const dispatched = onRecord(decodeRecord(window.subarray(position, position + check.sizeBytes), true));
          if (dispatched instanceof Promise) await dispatched; // the dispatcher persists what it holds now and then
          end.recordsReplayed++;
          at += check.sizeBytes;
          if (at === segmentEnd) {
            next = 'nextSegment'; // the record filled its segment exactly
            break;
          }
          continue;
        }
        if (check.kind === 'blank') {
          at = segmentEnd;
          next = 'nextSegment';
          break;
        }
        if (check.kind === 'invalid') {
          end.cut = { atLogOffset: at, reason: check.reason };
          break;
        }
        // 'end' of the window: read on, unless the file has nothing more.
        const fileOffset = at - segmentStart;
        const windowReachesFileEnd = windowLogOffset - segmentStart + window.length >= fileSizeBytes;
        if (fileOffset >= fileSizeBytes) break;
        const leadBytes = Math.min(8, fileSizeBytes - fileOffset);
        if (window.length - position >= leadBytes && isZero(window.subarray(position, position + leadBytes))) {
          if (await zerosToEnd(file, fileOffset, fileSizeBytes)) {
            end.zeroTail = true;
            break;
          }
          end.cut = { atLogOffset: at, reason: 'zero bytes where a record should start (unwritten or lost data)' };
          break;
        }
        if (windowReachesFileEnd) {
          end.cut = { atLogOffset: at, reason: 'incomplete record at the end (torn write)' };
          break;
        }
        const claimedSizeBytes = window.length - position >= 4 ? window.readUInt32BE(position) : 0;
        if (claimedSizeBytes > segmentEnd - at) {
          end.cut = { atLogOffset: at, reason: `record size ${claimedSizeBytes} runs past the end of its segment` };
          break;
        }
        const readBytes = Math.min(fileSizeBytes - fileOffset, Math.max(STORE_LIMITS.recoveryReadBytes, claimedSizeBytes));
        window = Buffer.allocUnsafe(readBytes);
        const { bytesRead } = await file.read(window, 0, readBytes, fileOffset);
        window = window.subarray(0, bytesRead);
        windowLogOffset = at;
      }
    } finally {
      await file.close();
    }
    end.logEndOffset = at;
    if (next === 'stop') break;
  }
  end.logEndOffset = at;
  return end;
}

/** Whether the file holds only zero bytes in [from, to), read in bounded windows. */
async function zerosToEnd(file: FileHandle, from: number, to: number): Promise<boolean> {
  const window = Buffer.allocUnsafe(Math.min(STORE_LIMITS.recoveryReadBytes, to - from));
  for (let at = from; at < to; ) {
    const { bytesRead } = await file.read(window, 0, Math.min(window.length, to - at), at);
    if (bytesRead === 0 || !isZero(window.subarray(0, bytesRead))) return bytesRead === 0;
    at += bytesRead;
  }
  return true;
}

function isZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function segmentFileName(start: number): string {
  return String(start).padStart(20, '0');
}

export function segmentFilePath(dir: string): (start: number) => string {
  return (start) => join(dir, segmentFileName(start));
}
