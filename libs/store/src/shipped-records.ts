// The bytes a master ships to a slave: a stretch of its log exactly as its segment files hold it
// (whole records, and the 8-byte header of a blank where a segment's tail is empty). Checked on
// arrival like recovery checks the log: size, magic, CRC32C and the log offset each record
// claims; the first bad record refuses the whole stretch, so nothing torn is ever appended.
import { RmqError } from '@rmq/base';
import { BLANK_RECORD_BYTES_MIN, checkRecord, decodeRecord, type StoredRecord } from './record';

export interface ShippedRecord {
  record: StoredRecord;
  /** The record's bytes as shipped (a view of the input). */
  bytes: Buffer;
}

/** The records in `bytes`, and the log offset right after them (a trailing blank moves it to the next segment). */
export function parseShippedRecords(bytes: Buffer, fromLogOffset: number, segmentSizeBytes: number): { records: ShippedRecord[]; endLogOffset: number } {
  const records: ShippedRecord[] = [];
  let position = 0;
  let logOffset = fromLogOffset;
  while (position < bytes.length) {
    const check = checkRecord(bytes, position, logOffset);
    if (check.kind === 'record') {
      const recordBytes = bytes.subarray(position, position + check.sizeBytes);
      records.push({ record: decodeRecord(recordBytes, true), bytes: recordBytes });
      position += check.sizeBytes;
      logOffset += check.sizeBytes;
    } else if (check.kind === 'blank') {
      const segmentEnd = logOffset - (logOffset % segmentSizeBytes) + segmentSizeBytes;
      if (logOffset + check.sizeBytes !== segmentEnd) throw refused(logOffset, `a blank of ${check.sizeBytes} bytes does not end its segment (segment size ${segmentSizeBytes}: do master and slave use the same?)`);
      position += BLANK_RECORD_BYTES_MIN;
      logOffset = segmentEnd;
    } else if (check.kind === 'invalid') {
      throw refused(logOffset, check.reason);
    } else {
      throw refused(logOffset, 'the bytes end inside a record');
    }
  }
  return { records, endLogOffset: logOffset };
}

function refused(logOffset: number, reason: string): RmqError {
  return new RmqError('BAD_REQUEST', { reason: `replicated log bytes are not valid at log offset ${logOffset}: ${reason}` });
}
