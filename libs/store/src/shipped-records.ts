// The bytes a master ships to a slave: a stretch of its log exactly as its segment files hold it
// (whole records, and the 8-byte header of a blank where a segment's tail is empty). Checked on
// arrival like recovery checks the log: size, magic, CRC32C and the log offset each record
// claims; the first bad record refuses the whole stretch, so nothing torn is ever appended.
// A slave only places the records (queue, offsets, index keys), it never reads their bodies: each
// record yields its header fields, its topic and, when the store indexes, its index keys; other
// properties and the body are not decoded (no Map, strings or views per record).
import { RmqError } from '@rmq/base';
import { BLANK_RECORD_BYTES_MIN, RECORD_HEADER_BYTES, checkRecord, readU64 } from './record';
import { readUtf8 } from './record-strings';
import { indexKeysOf, type IndexedProperties, type IndexKeys } from './message-index';

/** What a slave needs of one shipped record to place it (record.ts has the layout). */
export interface ShippedRecord {
  /** Where the record starts in the shipped bytes. */
  at: number;
  logOffset: number;
  sizeBytes: number;
  queueOffset: number;
  storeTimestampMs: number;
  queueId: number;
  tagHash: number;
  topic: string;
  /** Only when the store indexes (`indexed` given) and the record has an id or keys. */
  indexKeys: IndexKeys | undefined;
}

/**
 * The records in `bytes`, and the log offset right after them (a trailing blank moves it to the
 * next segment). With `indexed`, each record's index keys are read from its properties.
 */
export function parseShippedRecords(bytes: Buffer, fromLogOffset: number, segmentSizeBytes: number, indexed?: IndexedProperties): { records: ShippedRecord[]; endLogOffset: number } {
  const records: ShippedRecord[] = [];
  const keys = indexed && new IndexKeyReader(indexed);
  let position = 0;
  let logOffset = fromLogOffset;
  while (position < bytes.length) {
    const check = checkRecord(bytes, position, logOffset);
    if (check.kind === 'record') {
      const topicLength = bytes.readUInt16BE(position + RECORD_HEADER_BYTES);
      const topicStart = position + RECORD_HEADER_BYTES + 2;
      records.push({
        at: position,
        logOffset,
        sizeBytes: check.sizeBytes,
        queueOffset: readU64(bytes, position + 24),
        storeTimestampMs: readU64(bytes, position + 40),
        queueId: bytes.readUInt32BE(position + 48),
        tagHash: bytes.readUInt32BE(position + 52),
        topic: readUtf8(bytes, topicStart, topicStart + topicLength), // the same string for the same topic
        indexKeys: keys?.read(bytes, topicStart + topicLength, position + check.sizeBytes),
      });
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

/** Finds the two indexed properties among a record's by comparing key bytes; only their values are decoded. */
class IndexKeyReader {
  private readonly messageIdName: Buffer;
  private readonly keysName: Buffer;
  /** Reused for every record: indexKeysOf reads the values from it. */
  private readonly found = new Map<string, string>();

  constructor(private readonly names: IndexedProperties) {
    this.messageIdName = Buffer.from(names.messageId);
    this.keysName = Buffer.from(names.keys);
  }

  /** `at` is where the property count is; the CRC was checked, so every length fits within `end`. */
  read(buf: Buffer, at: number, end: number): IndexKeys | undefined {
    const count = buf.readUInt16BE(at);
    at += 2;
    this.found.clear();
    for (let i = 0; i < count && at < end; i++) {
      const keyLength = buf.readUInt16BE(at);
      const keyStart = at + 2;
      const valueLength = buf.readUInt32BE(keyStart + keyLength);
      const valueStart = keyStart + keyLength + 4;
      const name = sameBytes(buf, keyStart, keyLength, this.messageIdName) ? this.names.messageId : sameBytes(buf, keyStart, keyLength, this.keysName) ? this.names.keys : undefined;
      if (name !== undefined) this.found.set(name, buf.toString('utf8', valueStart, valueStart + valueLength));
      at = valueStart + valueLength;
    }
    return this.found.size === 0 ? undefined : indexKeysOf(this.found, this.names);
  }
}

function sameBytes(buf: Buffer, start: number, length: number, expected: Buffer): boolean {
  if (length !== expected.length) return false;
  for (let i = 0; i < length; i++) if (buf[start + i] !== expected[i]) return false;
  return true;
}

function refused(logOffset: number, reason: string): RmqError {
  return new RmqError('BAD_REQUEST', { reason: `replicated log bytes are not valid at log offset ${logOffset}: ${reason}` });
}
