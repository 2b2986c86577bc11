// The commit log record: one stored message, self-describing and CRC-protected so that recovery
// can find the last valid record and a replica can verify shipped bytes.
//
// Layout (big-endian), RECORD_HEADER_BYTES fixed bytes, then variable parts:
//   0 u32 totalSizeBytes      whole record, header included
//   4 u32 magic               RECORD_MAGIC (format version 1) or BLANK_MAGIC (segment tail padding)
//   8 u32 crc32c              of bytes [12, totalSizeBytes)
//  12 u32 flags
//  16 u64 logOffset           byte position of this record in the log
//  24 u64 queueOffset         entry number in (topic, queueId)
//  32 u64 bornTimestampMs
//  40 u64 storeTimestampMs
//  48 u32 queueId
//  52 u32 tagHash
//  56 u16 topicLength, topic (utf-8)
//     u16 propertyCount, then per property: u16 keyLength, key, u32 valueLength, value
//     u32 bodyLength, body
import { crc32c } from '@node-rs/crc32';
import { assert, fnv1a32 } from '@rmq/base';
import { utf8ByteLength, writeUtf8 } from './record-strings';

export const RECORD_MAGIC = 0x524d5131; // "RMQ1"
export const BLANK_MAGIC = 0x424c4e4b; // "BLNK": the rest of the segment is empty
export const RECORD_HEADER_BYTES = 56;
/** A segment always keeps room for a blank record at its tail. */
export const BLANK_RECORD_BYTES_MIN = 8;

/**
 * A record's properties as alternating keys and values, keys distinct, in record order: what a
 * producer builds per message without a Map (a Map costs an allocation per entry to iterate).
 */
export type PropertyList = readonly string[];

export type RecordProperties = ReadonlyMap<string, string> | PropertyList;

export interface RecordInput {
  topic: string;
  queueId: number;
  tagHash: number;
  flags: number;
  bornTimestampMs: number;
  properties: RecordProperties;
  body: Uint8Array;
}

export function encodedSizeBytes(input: RecordInput): number {
  return RECORD_HEADER_BYTES + 2 + utf8ByteLength(input.topic) + 2 + propertiesSizeBytes(input.properties) + 4 + input.body.byteLength;
}

function propertiesSizeBytes(properties: RecordProperties): number {
  let size = 0;
  if (isPropertyList(properties)) {
    for (let i = 0; i < properties.length; i += 2) size += 6 + utf8ByteLength(properties[i]) + utf8ByteLength(properties[i + 1]);
  } else {
    // forEach, not for-of: a [key, value] array per entry is what for-of over a Map costs.
    properties.forEach((value, key) => (size += 6 + utf8ByteLength(key) + utf8ByteLength(value)));
  }
  return size;
}

export function isPropertyList(properties: RecordProperties): properties is PropertyList {
  return Array.isArray(properties);
}

/** The properties as a Map (a copy). */
export function propertyMap(properties: RecordProperties): Map<string, string> {
  if (!isPropertyList(properties)) return new Map(properties);
  const map = new Map<string, string>();
  for (let i = 0; i < properties.length; i += 2) map.set(properties[i], properties[i + 1]);
  return map;
}

/** How many properties a record has. */
export function propertyCount(properties: RecordProperties): number {
  return isPropertyList(properties) ? properties.length >>> 1 : properties.size;
}

/** A property's value, or undefined (a list is searched: records have a handful of properties). */
export function propertyOf(properties: RecordProperties, key: string): string | undefined {
  if (!isPropertyList(properties)) return properties.get(key);
  for (let i = 0; i < properties.length; i += 2) if (properties[i] === key) return properties[i + 1];
  return undefined;
}

export interface RecordPlacement {
  logOffset: number;
  queueOffset: number;
  storeTimestampMs: number;
}

export function encodeRecord(input: RecordInput, placement: RecordPlacement, sizeBytes = encodedSizeBytes(input)): Buffer {
  const buf = Buffer.allocUnsafe(sizeBytes);
  encodeRecordInto(buf, 0, input, placement, sizeBytes);
  return buf;
}

/**
 * Encodes a record into `target` at `start` (the write path encodes a batch into one buffer),
 * writing at absolute positions: no view of the record is made but the one its CRC is taken of.
 * Fixed-width fields go through a DataView of the target (about a tenth of what Buffer's
 * writeUInt32BE costs per call, measured; wave 8): DataView wraps out-of-range values where
 * Buffer threw, so every field that could be out of range is asserted first.
 */
export function encodeRecordInto(target: Buffer, start: number, input: RecordInput, placement: RecordPlacement, sizeBytes: number): void {
  const buf = target;
  // Per message: the details object only when an invariant breaks.
  if (start + sizeBytes > buf.length) assert(false, 'no room for the record in the target buffer', { start, sizeBytes, targetBytes: target.length });
  const view = viewOf(buf);
  const queueId = input.queueId;
  if (!(queueId >= 0 && queueId <= 0xffffffff)) assert(false, 'queue id out of range', { queueId });
  const properties = input.properties;
  const count = propertyCount(properties);
  if (count > 0xffff) assert(false, 'too many properties for a u16 count', { count });
  view.setUint32(start, sizeBytes);
  view.setUint32(start + 4, RECORD_MAGIC);
  view.setUint32(start + 12, input.flags >>> 0);
  setU64(view, start + 16, placement.logOffset);
  setU64(view, start + 24, placement.queueOffset);
  setU64(view, start + 32, input.bornTimestampMs);
  setU64(view, start + 40, placement.storeTimestampMs);
  view.setUint32(start + 48, queueId);
  view.setUint32(start + 52, input.tagHash >>> 0);
  // Strings are written where encodedSizeBytes made room for them (the same byte counts): the
  // assert below the body catches any disagreement.
  const end = start + sizeBytes;
  let at = writeString16(buf, view, start + RECORD_HEADER_BYTES, input.topic);
  view.setUint16(at, count);
  at += 2;
  if (isPropertyList(properties)) {
    for (let i = 0; i < properties.length; i += 2) at = writeProperty(buf, view, at, properties[i], properties[i + 1]);
  } else {
    properties.forEach((value, key) => (at = writeProperty(buf, view, at, key, value)));
  }
  view.setUint32(at, input.body.byteLength);
  at += 4;
  if (at + input.body.byteLength !== end) assert(false, 'record encoding size mismatch', { at: at - start + input.body.byteLength, sizeBytes });
  buf.set(input.body, at);
  view.setUint32(start + 8, crc32c(buf.subarray(start + 12, end)));
}

/**
 * The DataView of the buffer encoded into last: a batch's records all go into one append slab,
 * so one view serves thousands of records (it keeps that one buffer referenced until the next).
 */
let lastTarget: Buffer | undefined;
let lastView: DataView | undefined;

function viewOf(buf: Buffer): DataView {
  if (buf !== lastTarget || lastView === undefined) {
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    lastTarget = buf;
  }
  return lastView;
}

function setU64(view: DataView, at: number, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, 'u64 field out of range', { value });
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

/** Offsets and timestamps are u64 on disk; as JS numbers they stay below 2^53 (asserted). */
export function writeU64(buf: Buffer, at: number, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, 'u64 field out of range', { value });
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

/** Exact below 2^53; a larger (damaged) value comes back rounded and fails the caller's checks. */
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);
}

/**
 * A big-endian u32 at `at`, which the caller knows lies within `buf` (bytes past its end read as
 * 0, no RangeError). Plain byte reads, which V8 inlines: Buffer's readUInt32BE, with its range
 * checks, stayed a call per field on the read path (a record's header, its queue entry).
 */
export function u32At(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

/** readU64 for a field the caller knows lies within `buf` (see u32At). */
export function u64At(buf: Uint8Array, at: number): number {
  return u32At(buf, at) * 0x1_0000_0000 + u32At(buf, at + 4);
}

export function encodeBlank(sizeBytes: number): Buffer {
  const buf = Buffer.alloc(BLANK_RECORD_BYTES_MIN);
  encodeBlankInto(buf, 0, sizeBytes);
  return buf;
}

/** Writes the BLANK_RECORD_BYTES_MIN bytes of a blank covering `sizeBytes` of log at `target[at]`. */
export function encodeBlankInto(target: Buffer, at: number, sizeBytes: number): void {
  assert(sizeBytes >= BLANK_RECORD_BYTES_MIN, 'blank record too small', { sizeBytes });
  target.writeUInt32BE(sizeBytes, at);
  target.writeUInt32BE(BLANK_MAGIC, at + 4);
}

export type RecordCheck =
  | { kind: 'record'; sizeBytes: number }
  | { kind: 'blank'; sizeBytes: number }
  | { kind: 'end' }
  | { kind: 'invalid'; reason: string };

/**
 * Says what starts at `buf[at]`, where `buf` holds the log from `logOffsetOfBuf`: a whole valid
 * record, a blank, the end of written data (zeros or too few bytes), or something invalid.
 * Without `verifyCrc`, only the record's frame (size, magic, log offset): for bytes that never left memory.
 */
export function checkRecord(buf: Buffer, at: number, expectedLogOffset: number, verifyCrc = true): RecordCheck {
  if (buf.length - at < 8) return { kind: 'end' };
  const sizeBytes = buf.readUInt32BE(at);
  const magic = buf.readUInt32BE(at + 4);
  if (sizeBytes === 0 && magic === 0) return { kind: 'end' };
  if (magic === BLANK_MAGIC) return { kind: 'blank', sizeBytes };
  if (magic !== RECORD_MAGIC) return { kind: 'invalid', reason: `bad magic 0x${magic.toString(16)}` };
  if (sizeBytes < RECORD_HEADER_BYTES) return { kind: 'invalid', reason: `record size ${sizeBytes} is below the header size` };
  if (buf.length - at < sizeBytes) return { kind: 'end' };
  const crc = buf.readUInt32BE(at + 8);
  if (verifyCrc && crc32c(buf.subarray(at + 12, at + sizeBytes)) !== crc) return { kind: 'invalid', reason: 'CRC mismatch' };
  const logOffset = readU64(buf, at + 16);
  if (logOffset !== expectedLogOffset) return { kind: 'invalid', reason: `record says log offset ${logOffset}, found at ${expectedLogOffset}` };
  return { kind: 'record', sizeBytes };
}

function writeProperty(buf: Buffer, view: DataView, at: number, key: string, value: string): number {
  at = writeString16(buf, view, at, key);
  const valueBytes = writeUtf8(buf, at + 4, value);
  view.setUint32(at, valueBytes);
  return at + 4 + valueBytes;
}

function writeString16(buf: Buffer, view: DataView, at: number, text: string): number {
  const length = writeUtf8(buf, at + 2, text);
  if (length > 0xffff) assert(false, 'string too long for a u16 length', { length });
  view.setUint16(at, length);
  return at + 2 + length;
}

/** FNV-1a of a tag: the consume queue keeps it so tag filters skip records without reading them. */
export function tagHashOf(tag: string | undefined): number {
  if (!tag) return 0;
  return fnv1a32(tag) || 1; // 0 means "no tag"
}
