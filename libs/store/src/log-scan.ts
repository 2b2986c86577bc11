// Reading a confirmed stretch of the commit log record by record, in large reads, and rebuilding
// the message index from it at start. Read-only; recovery (CommitLog.open) has already cut any torn tail,
// so a record that fails its check here is old damage: the rest of that segment is skipped and
// counted, never served.
import { assert } from '@rmq/base';
import type { CommitLog } from './commit-log';
import { checkRecord, RECORD_HEADER_BYTES } from './record';
import { decodeRecord, type StoredRecord } from './record-view';
import { STORE_LIMITS } from './limits';
import { indexKeysOf, type IndexedProperties, type MessageIndex } from './message-index';

export interface ScanReport {
  fromLogOffset: number;
  toLogOffset: number;
  recordsScanned: number;
  /** Segments whose tail was skipped because a record in it failed its check. */
  damagedSegments: number[];
}

/**
 * Calls `onRecord` for every record in [fromLogOffset, toLogOffset) in log order.
 * `fromLogOffset` must be a record boundary (a segment start always is).
 */
export async function scanLog(
  log: CommitLog,
  fromLogOffset: number,
  toLogOffset: number,
  onRecord: (record: StoredRecord) => void,
  readBytes: number = STORE_LIMITS.indexRebuildReadBytes,
): Promise<ScanReport> {
  assert(readBytes >= RECORD_HEADER_BYTES, 'scan read size too small', { readBytes });
  const segmentSizeBytes = log.segmentSizeBytes;
  const report: ScanReport = { fromLogOffset, toLogOffset, recordsScanned: 0, damagedSegments: [] };
  let at = fromLogOffset;
  scan: while (at < toLogOffset) {
    const segmentEnd = at - (at % segmentSizeBytes) + segmentSizeBytes;
    const damaged = () => {
      report.damagedSegments.push(segmentEnd - segmentSizeBytes);
      at = segmentEnd;
    };
    const bytes = await log.readUpTo(at, Math.min(readBytes, toLogOffset - at, segmentEnd - at));
    let position = 0;
    for (;;) {
      const check = checkRecord(bytes, position, at + position);
      if (check.kind === 'record') {
        onRecord(decodeRecord(bytes.subarray(position, position + check.sizeBytes), true));
        report.recordsScanned++;
        position += check.sizeBytes;
      } else if (check.kind === 'blank') {
        at = segmentEnd; // the rest of the segment is empty
        continue scan;
      } else if (check.kind === 'invalid') {
        damaged();
        continue scan;
      } else {
        break; // 'end': the read ended, maybe inside a record
      }
    }
    const remaining = bytes.length - position;
    if (remaining >= 8 && bytes.readUInt32BE(position) === 0) {
      damaged(); // zeros where confirmed records should be
    } else if (position > 0) {
      at += position; // the next read starts at the first record this one did not hold whole
    } else {
      // Nothing whole in a full read: one record larger than a read, or a file cut short.
      const sizeBytes = remaining >= 4 ? bytes.readUInt32BE(0) : 0;
      const whole = sizeBytes > bytes.length && at + sizeBytes <= Math.min(toLogOffset, segmentEnd) ? await log.readUpTo(at, sizeBytes) : undefined;
      if (whole && checkRecord(whole, 0, at).kind === 'record') {
        onRecord(decodeRecord(whole, true));
        report.recordsScanned++;
        at += sizeBytes;
      } else {
        damaged();
      }
    }
  }
  return report;
}

/**
 * Refills the message index from the newest part of the log: from the start of the segment
 * holding (toLogOffset - scanBytesMax), or the log's first segment, up to toLogOffset.
 * Undefined when there is nothing to scan (scanBytesMax 0, or an empty log).
 */
export async function rebuildIndex(
  log: CommitLog,
  index: MessageIndex,
  names: IndexedProperties,
  toLogOffset: number,
  scanBytesMax: number,
): Promise<ScanReport | undefined> {
  if (scanBytesMax <= 0 || toLogOffset <= log.minOffset) return undefined;
  const windowStart = Math.max(log.minOffset, toLogOffset - scanBytesMax);
  const fromLogOffset = Math.max(log.minOffset, windowStart - (windowStart % log.segmentSizeBytes));
  return scanLog(log, fromLogOffset, toLogOffset, (record) => {
    const keys = indexKeysOf(record.properties, names);
    if (keys) index.add(keys, record.topic, record.logOffset, record.sizeBytes, record.storeTimestampMs);
  });
}
