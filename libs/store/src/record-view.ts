// A stored record read back, as a view of its bytes: the header's numbers are read where they
// are, the topic when asked for, the property map and the body slice only when someone uses
// them. A delivery needs neither: it copies the record's strings and body into its frame as bytes
// (the broker's delivery frames), and the consume path looks up the one or two properties it
// needs (message group, tag) without building the map. Layout: record.ts.
import { crc32c } from '@node-rs/crc32';
import { assert } from '@rmq/base';
import { RECORD_HEADER_BYTES, RECORD_MAGIC, u32At, u64At, type RecordInput } from './record';
import { readUtf8 } from './record-strings';

export class StoredRecord implements RecordInput {
  /** The record is `source[start, start + sizeBytes)` (a block read, recent writes or a read of its own). */
  readonly source: Buffer;
  readonly start: number;
  readonly sizeBytes: number;
  /** Where the first property's key length is, in `source`. */
  readonly propertiesStart: number;
  readonly propertyCount: number;
  /** Where the body is, in `source`. */
  readonly bodyStart: number;
  readonly bodyLength: number;
  private topicText: string | undefined = undefined;
  private propertyMap: Map<string, string> | undefined = undefined;
  private bodySlice: Buffer | undefined = undefined;

  /** Checks the magic, and the CRC unless `crcChecked`; finds the properties and the body. */
  constructor(source: Buffer, start: number, crcChecked: boolean) {
    // Fields are read with u32At (no range check of its own): the record is checked to lie within `source` first.
    const sizeBytes = u32At(source, start);
    if (start < 0 || start + sizeBytes > source.length || sizeBytes < RECORD_HEADER_BYTES) assert(false, 'a record runs past the bytes read', { start, sizeBytes, length: source.length });
    if (u32At(source, start + 4) !== RECORD_MAGIC) assert(false, 'not a record', { magic: u32At(source, start + 4) });
    if (!crcChecked && crc32c(source.subarray(start + 12, start + sizeBytes)) !== u32At(source, start + 8)) {
      assert(false, 'record CRC mismatch on read', { logOffset: u64At(source, start + 16) });
    }
    this.source = source;
    this.start = start;
    this.sizeBytes = sizeBytes;
    let at = start + RECORD_HEADER_BYTES;
    at += 2 + ((source[at] << 8) | source[at + 1]);
    this.propertyCount = (source[at] << 8) | source[at + 1];
    at += 2;
    this.propertiesStart = at;
    for (let i = 0; i < this.propertyCount; i++) {
      at += 2 + ((source[at] << 8) | source[at + 1]);
      at += 4 + u32At(source, at);
    }
    this.bodyLength = u32At(source, at);
    this.bodyStart = at + 4;
    if (this.bodyStart + this.bodyLength !== start + sizeBytes) assert(false, 'record fields overrun its size', { logOffset: this.logOffset, sizeBytes });
  }

  get flags(): number {
    return u32At(this.source, this.start + 12);
  }

  get logOffset(): number {
    return u64At(this.source, this.start + 16);
  }

  get queueOffset(): number {
    return u64At(this.source, this.start + 24);
  }

  get bornTimestampMs(): number {
    return u64At(this.source, this.start + 32);
  }

  get storeTimestampMs(): number {
    return u64At(this.source, this.start + 40);
  }

  get queueId(): number {
    return u32At(this.source, this.start + 48);
  }

  get tagHash(): number {
    return u32At(this.source, this.start + 52);
  }

  /** Where the topic's UTF-8 bytes are, in `source` (its length is topicLength). */
  get topicStart(): number {
    return this.start + RECORD_HEADER_BYTES + 2;
  }

  get topicLength(): number {
    const at = this.start + RECORD_HEADER_BYTES;
    return (this.source[at] << 8) | this.source[at + 1];
  }

  get topic(): string {
    if (this.topicText === undefined) this.topicText = readUtf8(this.source, this.topicStart, this.topicStart + this.topicLength);
    return this.topicText;
  }

  /** Every property, decoded on first use (the map is the record's: do not change it). */
  get properties(): Map<string, string> {
    if (this.propertyMap === undefined) {
      const map = new Map<string, string>();
      const cursor = lookup.over(this);
      while (cursor.next()) map.set(cursor.key(), cursor.value());
      this.propertyMap = map;
    }
    return this.propertyMap;
  }

  /** One property's value, without decoding the others (keys are compared as bytes). */
  property(key: string): string | undefined {
    if (this.propertyMap !== undefined || !isAscii(key)) return this.properties.get(key);
    const cursor = lookup.over(this);
    while (cursor.next()) if (cursor.keyIs(key)) return cursor.value();
    return undefined;
  }

  get body(): Buffer {
    if (this.bodySlice === undefined) this.bodySlice = this.source.subarray(this.bodyStart, this.bodyStart + this.bodyLength);
    return this.bodySlice;
  }
}

/**
 * Walks a record's properties in place: after next(), the key is source[keyStart, keyEnd) and
 * the value source[valueStart, valueEnd). One cursor can serve any number of records in turn.
 */
export class PropertyCursor {
  source: Buffer = EMPTY;
  keyStart = 0;
  keyEnd = 0;
  valueStart = 0;
  valueEnd = 0;
  private left = 0;
  private at = 0;

  over(record: StoredRecord): this {
    this.source = record.source;
    this.left = record.propertyCount;
    this.at = record.propertiesStart;
    return this;
  }

  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    const source = this.source;
    const at = this.at;
    this.keyStart = at + 2;
    this.keyEnd = this.keyStart + ((source[at] << 8) | source[at + 1]);
    this.valueStart = this.keyEnd + 4;
    this.valueEnd = this.valueStart + u32At(source, this.keyEnd);
    this.at = this.valueEnd;
    return true;
  }

  key(): string {
    return readUtf8(this.source, this.keyStart, this.keyEnd);
  }

  value(): string {
    return readUtf8(this.source, this.valueStart, this.valueEnd);
  }

  /** Whether the key's bytes are `key`, an ASCII string. */
  keyIs(key: string): boolean {
    const length = key.length;
    if (this.keyEnd - this.keyStart !== length) return false;
    const source = this.source;
    for (let i = 0; i < length; i++) if (source[this.keyStart + i] !== key.charCodeAt(i)) return false;
    return true;
  }
}

const EMPTY = Buffer.alloc(0);
/** Lookups are synchronous: one cursor serves them all. */
const lookup = new PropertyCursor();

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The record at `source[start]`, checking its CRC unless `crcChecked` (checkRecord just did, or
 * the bytes are the ones this process encoded and never left memory).
 */
export function viewRecord(source: Buffer, start: number, crcChecked = false): StoredRecord {
  return new StoredRecord(source, start, crcChecked);
}

/** The record that `buf` starts with (see viewRecord). */
export function decodeRecord(buf: Buffer, crcChecked = false): StoredRecord {
  return new StoredRecord(buf, 0, crcChecked);
}
