// Finding the valid end of the commit log at start-up: records are checked one by one (size,
// magic, CRC32C, the log offset they claim) from a record boundary, reading each segment in
// bounded windows, never a whole segment at once. The first torn or invalid record is the end.
import { open } from 'node:fs/promises';
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
        if (windowReachesFileEnd) {
          end.cut = { atLogOffset: at, reason: 'incomplete record at the end (torn write)' };
          break;
        }
        const claimedSizeBytes = window.length - position >= 4 ? window.readUInt32BE(position) : 0;
        if (window.length - position >= 8 && claimedSizeBytes === 0) {
          end.cut = { atLogOffset: at, reason: 'zero bytes where a record should start (unwritten or lost data)' };
          break;
        }
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

export function segmentFileName(start: number): string {
  return String(start).padStart(20, '0');
}

export function segmentFilePath(dir: string): (start: number) => string {
  return (start) => join(dir, segmentFileName(start));
}
