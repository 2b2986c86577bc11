// Reading the log as a master ships it: a stretch of whole records from a record boundary, as
// the segment file holds it, never across a segment's end (a blank's 8 bytes end a stretch and
// move on to the next segment) nor past `limitLogOffset` (the written end, or where the next
// epoch begins), at most `sizeBytesMax` long unless its first record alone is longer.
import { assert, RmqError } from '@rmq/base';
import type { CommitLog } from './commit-log';
import { BLANK_RECORD_BYTES_MIN, checkRecord } from './record';
import type { RecentWrites } from './recent-writes';

export interface LogStretch {
  bytes: Buffer;
  /** Where the next stretch starts (the next segment's start after a blank). */
  endLogOffset: number;
  /**
   * With use 'turn': the bytes are a view of kept memory (recent-writes.ts), theirs only while the
   * stretch's start is still kept (MessageStore.keepsInMemory) when they are used.
   */
  viewOfMemory?: boolean;
}

/**
 * How long the caller keeps a stretch read from memory: 'kept' (copied out, as long as it likes) or
 * 'turn' (a view, no copy, for a caller that uses it at once, e.g. serialized by a synchronous
 * stream write: it checks MessageStore.keepsInMemory right before, since writes in the microtasks
 * before it may have dropped the chunk and reused its slab).
 */
export type StretchUse = 'kept' | 'turn';

export async function readLogStretch(log: CommitLog, fromLogOffset: number, limitLogOffset: number, sizeBytesMax: number, recent?: RecentWrites, use: StretchUse = 'kept'): Promise<LogStretch> {
  if (fromLogOffset < log.minOffset) throw new RmqError('NOT_FOUND', { what: 'log offset', name: `${fromLogOffset} (below the oldest segment, ${log.minOffset})` });
  if (fromLogOffset >= limitLogOffset) return { bytes: Buffer.alloc(0), endLogOffset: fromLogOffset };
  const segmentEnd = fromLogOffset - (fromLogOffset % log.segmentSizeBytes) + log.segmentSizeBytes;
  const readBytesMax = Math.max(BLANK_RECORD_BYTES_MIN, Math.min(sizeBytesMax, limitLogOffset - fromLogOffset));
  // Bytes just written come from memory as they were written (no file read) and are not
  // CRC-checked again: they never left memory (the slave checks every record it gets). They are
  // copied out unless used within this turn: the stretch may wait in a stream's buffer while its
  // slab is reused (append-buffer.ts).
  const kept = recent?.from(fromLogOffset, readBytesMax);
  let fromMemory = kept !== undefined;
  let bytes = kept ?? (await log.readUpTo(fromLogOffset, readBytesMax));
  let position = 0;
  let at = fromLogOffset;
  let rereadWhole = false;
  while (at < limitLogOffset) {
    const check = checkRecord(bytes, position, at, !fromMemory);
    if (check.kind === 'record') {
      if (at + check.sizeBytes > limitLogOffset) break;
      position += check.sizeBytes;
      at += check.sizeBytes;
    } else if (check.kind === 'blank') {
      position += BLANK_RECORD_BYTES_MIN;
      at = segmentEnd;
      break;
    } else if (check.kind === 'end' && position === 0 && bytes.length >= 8 && !rereadWhole) {
      // The first record is longer than one read: read it whole.
      const sizeBytes = bytes.readUInt32BE(0);
      assert(at + sizeBytes <= limitLogOffset && sizeBytes <= log.segmentSizeBytes, 'a shipped record runs past the written log', { at, sizeBytes, limitLogOffset });
      bytes = await log.readUpTo(fromLogOffset, sizeBytes);
      fromMemory = false;
      rereadWhole = true;
    } else if (check.kind === 'invalid') {
      throw new RmqError('INTERNAL', { errorId: `log-read-${at}: ${check.reason}` });
    } else {
      break;
    }
  }
  const stretch = bytes.subarray(0, position);
  if (!fromMemory) return { bytes: stretch, endLogOffset: at };
  return use === 'kept' ? { bytes: Buffer.from(stretch), endLogOffset: at } : { bytes: stretch, endLogOffset: at, viewOfMemory: true };
}
