// A delivered message's ReceiveMessageResponse frame, written straight from its stored record's
// bytes when grpc-js serializes it: the record's strings (topic, message id, host, digest, tag,
// group, trace context, user properties) and body are copied as bytes, sizes are computed once
// from their byte lengths, and there is no property map, string, v2.Message or BigInt per
// delivery. The bytes are what the generated code makes of messageFrame(toWireMessage(...))
// (delivery-frame.test.ts), which stays the path for values this encoder does not cover.
import { encodeReceiveMessageResponse, SELF_ENCODING_FRAME, varint32Size, type ScratchBuffer, type SelfEncodingFrame, type v2 } from '@rmq/contracts';
import { fromStoredRecord, SYSTEM_PROPERTY, USER_PROPERTY_PREFIX } from '@rmq/messaging';
import { PropertyCursor, type StoredRecord } from '@rmq/store';
import { createHash } from 'node:crypto';
import { messageFrame, toWireMessage, type DeliveryFields } from './message-codec';

/** A delivery's frame: the record, and what the delivery adds to it (handle, attempt, where it was received). */
export class DeliveryFrame implements SelfEncodingFrame, DeliveryFields {
  readonly $typeName = SELF_ENCODING_FRAME;

  constructor(
    readonly record: StoredRecord,
    readonly receiptHandle: string,
    readonly deliveryAttempt: number,
    readonly invisibleMs: number,
    readonly storeHost: string,
    readonly namespace: string,
  ) {}

  encodeInto(scratch: ScratchBuffer): Buffer {
    return encodeFromRecord(this, scratch) ?? encodeReceiveMessageResponse(this.genericFrame(), scratch);
  }

  /** The frame built as v2 objects: what the encoder is checked against, and the path for values it does not cover. */
  genericFrame(): v2.ReceiveMessageResponse {
    return messageFrame(toWireMessage(fromStoredRecord(this.record), this, this.namespace));
  }
}

// ---- the record's properties a delivery carries ----

/** System properties by slot: their values' byte ranges are found in one pass over the record. */
const SLOT_KEYS = [
  SYSTEM_PROPERTY.messageId,
  SYSTEM_PROPERTY.tag,
  SYSTEM_PROPERTY.keys,
  SYSTEM_PROPERTY.messageType,
  SYSTEM_PROPERTY.messageGroup,
  SYSTEM_PROPERTY.bornHost,
  SYSTEM_PROPERTY.traceContext,
  SYSTEM_PROPERTY.deliveryTimestampMs,
  SYSTEM_PROPERTY.bodyMd5,
  SYSTEM_PROPERTY.bodyEncoding,
] as const;
const [MESSAGE_ID, TAG, KEYS, MESSAGE_TYPE, MESSAGE_GROUP, BORN_HOST, TRACE_CONTEXT, DELIVER_AT, BODY_MD5, BODY_ENCODING] = SLOT_KEYS.map((_, slot) => slot);
const SLOT_KEY_BYTES = SLOT_KEYS.map((key) => Buffer.from(key, 'latin1'));
const SYSTEM_PREFIX = 's.'; // every slot key starts with it
const USER_PREFIX_BYTES = USER_PROPERTY_PREFIX.length;

/** Per slot: value start and end in the record's source, or -1 when absent. Encoding is synchronous: one set serves all. */
const slots = new Int32Array(2 * SLOT_KEYS.length);
/** User properties: key start (prefix cut), key end, value start, value end, per property. */
let userRanges = new Int32Array(64);
const cursor = new PropertyCursor();

/** v2.MessageType by stored name, in the order they are looked for. */
const MESSAGE_TYPES = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'];
const MESSAGE_TYPE_NUMBERS = [1, 2, 3, 4];
const GZIP = 'GZIP';

/** Finds the delivered properties; returns the number of user properties. */
function scanProperties(record: StoredRecord): number {
  slots.fill(-1);
  let users = 0;
  cursor.over(record);
  const source = record.source;
  while (cursor.next()) {
    const keyStart = cursor.keyStart;
    const keyLength = cursor.keyEnd - keyStart;
    if (keyLength >= 2 && source[keyStart + 1] === 0x2e /* . */) {
      const kind = source[keyStart];
      if (kind === USER_PROPERTY_PREFIX.charCodeAt(0)) {
        if (4 * users + 4 > userRanges.length) {
          const grown = new Int32Array(2 * userRanges.length);
          grown.set(userRanges);
          userRanges = grown;
        }
        userRanges[4 * users] = keyStart + USER_PREFIX_BYTES;
        userRanges[4 * users + 1] = cursor.keyEnd;
        userRanges[4 * users + 2] = cursor.valueStart;
        userRanges[4 * users + 3] = cursor.valueEnd;
        users++;
      } else if (kind === SYSTEM_PREFIX.charCodeAt(0)) {
        const slot = slotOf(source, keyStart, keyLength);
        // A key set twice keeps its last value, as the property map does.
        if (slot >= 0) (slots[2 * slot] = cursor.valueStart, slots[2 * slot + 1] = cursor.valueEnd);
      }
    }
  }
  return users;
}

/** Slot keys by length and third byte (the first after the prefix): one candidate to compare, not every key. */
const SHAPE_LENGTH_MAX = 32;
const slotByShape = new Int8Array(SHAPE_LENGTH_MAX * 128).fill(-1);
SLOT_KEY_BYTES.forEach((key, slot) => {
  const shape = key.length * 128 + key[2];
  if (slotByShape[shape] !== -1) throw new Error(`system property keys ${SLOT_KEYS[slotByShape[shape]]} and ${SLOT_KEYS[slot]} have the same shape`);
  slotByShape[shape] = slot;
});

function slotOf(source: Buffer, keyStart: number, keyLength: number): number {
  if (keyLength < 3 || keyLength >= SHAPE_LENGTH_MAX || source[keyStart + 2] >= 128) return -1;
  const slot = slotByShape[keyLength * 128 + source[keyStart + 2]];
  if (slot < 0) return -1;
  const key = SLOT_KEY_BYTES[slot];
  for (let i = 3; i < keyLength; i++) if (source[keyStart + i] !== key[i]) return -1;
  return slot;
}

function present(slot: number): boolean {
  return slots[2 * slot] >= 0;
}

function slotLength(slot: number): number {
  return slots[2 * slot + 1] - slots[2 * slot];
}

function slotEquals(source: Buffer, slot: number, text: string): boolean {
  const start = slots[2 * slot];
  if (slots[2 * slot + 1] - start !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (source[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The stored message type's v2 number; 0 for a name it does not know. */
function messageTypeOf(source: Buffer): number {
  for (let i = 0; i < MESSAGE_TYPES.length; i++) if (slotEquals(source, MESSAGE_TYPE, MESSAGE_TYPES[i])) return MESSAGE_TYPE_NUMBERS[i];
  return 0;
}

function slotText(source: Buffer, slot: number): string {
  return source.toString('utf8', slots[2 * slot], slots[2 * slot + 1]);
}

// ---- sizes ----

/** A varint of a safe, non-negative integer (seconds, offsets) without BigInt. */
function numberVarintSize(value: number): number {
  if (value < 0x10000000) return varint32Size(value);
  let size = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/**
 * Timestamp / Duration of `ms` (seconds = 1, nanos = 2), without tag and length. The remainder
 * by subtraction: `ms % 1000` of a millisecond timestamp (above 2^31) is a floating-point modulo,
 * a call into C that cost as much as the rest of the field.
 */
function millisSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  return (seconds !== 0 ? 1 + numberVarintSize(seconds) : 0) + (nanos !== 0 ? 1 + varint32Size(nanos) : 0);
}

/** A length-delimited field's bytes after its tag. */
function delimited(length: number): number {
  return varint32Size(length) + length;
}

function wholeNonNegative(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

// ---- writing: one frame at a time into `out` ----

let out: Buffer = Buffer.alloc(0);
let pos = 0;

function varint(value: number): void {
  while (value > 0x7f) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
}

function numberVarint(value: number): void {
  if (value <= 0x7fffffff) return varint(value);
  while (value > 0x7f) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
}

/** Short copies byte by byte: a native copy costs more than the loop below ~32 bytes. */
function copy(source: Buffer, start: number, end: number): void {
  const length = end - start;
  if (length > 32) source.copy(out, pos, start, end);
  else for (let i = 0; i < length; i++) out[pos + i] = source[start + i];
  pos += length;
}

/** A length-delimited field copied from the record. */
function rangeField(tag: number, source: Buffer, start: number, end: number): void {
  varint(tag);
  varint(end - start);
  copy(source, start, end);
}

function slotField(tag: number, source: Buffer, slot: number): void {
  rangeField(tag, source, slots[2 * slot], slots[2 * slot + 1]);
}

/** A string field whose UTF-8 byte length is `length`. */
function textField(tag: number, text: string, length: number): void {
  varint(tag);
  varint(length);
  if (length === text.length && length <= 32) for (let i = 0; i < length; i++) out[pos + i] = text.charCodeAt(i);
  else out.write(text, pos, length, length === text.length ? 'latin1' : 'utf8');
  pos += length;
}

/** `size`: millisSize(ms), computed once with the frame's sizes. */
function millisField(tag: number, ms: number, size: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  varint(tag);
  varint(size);
  if (seconds !== 0) (out[pos++] = 0x08, numberVarint(seconds));
  if (nanos !== 0) (out[pos++] = 0x10, varint(nanos));
}

const NO_KEYS: readonly string[] = [];

/** The UTF-8 length of a string every frame of a receive repeats (its namespace, the store host): computed once per value. */
class RepeatedLength {
  private text = '';
  private length = 0;

  of(text: string): number {
    if (text !== this.text) (this.text = text, this.length = Buffer.byteLength(text));
    return this.length;
  }
}
const namespaceBytes = new RepeatedLength();
const storeHostBytes = new RepeatedLength();

/**
 * The bytes of `frame` in `scratch`, or undefined when a value is outside what
 * this encoder covers (an unknown message type, a delivery time that is not a whole number of
 * milliseconds, a queue id above 2^31 - 1: none that the broker stores).
 */
export function encodeFromRecord(frame: DeliveryFrame, scratch: ScratchBuffer): Buffer | undefined {
  const record = frame.record;
  const source = record.source;
  const users = scanProperties(record);
  // Values that decide whether this encoder covers the record.
  const messageType = present(MESSAGE_TYPE) ? messageTypeOf(source) : 1; // NORMAL when absent
  if (messageType === 0) return undefined;
  const deliverAtMs = present(DELIVER_AT) ? Number(slotText(source, DELIVER_AT)) : undefined;
  const bornMs = record.bornTimestampMs;
  const storeMs = record.storeTimestampMs;
  const queueId = record.queueId;
  const queueOffset = record.queueOffset;
  const { receiptHandle, deliveryAttempt, invisibleMs, storeHost, namespace } = frame;
  if (
    (deliverAtMs !== undefined && !wholeNonNegative(deliverAtMs)) || !wholeNonNegative(bornMs) || !wholeNonNegative(storeMs) || !wholeNonNegative(queueOffset) ||
    !wholeNonNegative(invisibleMs) || queueId > 0x7fffffff || !(Number.isInteger(deliveryAttempt) && deliveryAttempt >= 0 && deliveryAttempt <= 0x7fffffff)
  ) {
    return undefined;
  }
  // Rare: keys (a JSON array in the record), a digest computed for records stored without one.
  const keys = present(KEYS) ? (JSON.parse(slotText(source, KEYS)) as string[]) : NO_KEYS;
  const computedMd5 = present(BODY_MD5) ? undefined : createHash('md5').update(record.body).digest('hex').toUpperCase();
  const bodyEncoding = present(BODY_ENCODING) && slotEquals(source, BODY_ENCODING, GZIP) ? 2 : 1; // v2.Encoding
  const namespaceLength = namespaceBytes.of(namespace);
  const storeHostLength = storeHostBytes.of(storeHost);
  const handleLength = Buffer.byteLength(receiptHandle);

  // Sizes, inner first.
  const topicLength = record.topicLength;
  const resourceSize = (namespaceLength !== 0 ? 1 + delimited(namespaceLength) : 0) + (topicLength !== 0 ? 1 + delimited(topicLength) : 0);
  let system = 0;
  if (present(TAG)) system += 1 + delimited(slotLength(TAG));
  for (const key of keys) system += 1 + delimited(Buffer.byteLength(key));
  if (present(MESSAGE_ID) && slotLength(MESSAGE_ID) !== 0) system += 1 + delimited(slotLength(MESSAGE_ID));
  const md5Length = computedMd5 !== undefined ? computedMd5.length : slotLength(BODY_MD5);
  const digestSize = 2 + (md5Length !== 0 ? 1 + delimited(md5Length) : 0);
  system += 1 + delimited(digestSize);
  system += 2 + 2; // body encoding and message type: one-byte enums
  const bornSize = millisSize(bornMs);
  const storeSize = millisSize(storeMs);
  const invisibleSize = millisSize(invisibleMs);
  const deliverAtSize = deliverAtMs !== undefined ? millisSize(deliverAtMs) : 0;
  system += 1 + delimited(bornSize);
  if (present(BORN_HOST) && slotLength(BORN_HOST) !== 0) system += 1 + delimited(slotLength(BORN_HOST));
  system += 1 + delimited(storeSize);
  if (storeHostLength !== 0) system += 1 + delimited(storeHostLength);
  if (deliverAtMs !== undefined) system += 1 + delimited(deliverAtSize);
  system += 1 + delimited(handleLength);
  if (queueId !== 0) system += 1 + varint32Size(queueId);
  system += 1 + numberVarintSize(queueOffset);
  system += 1 + delimited(invisibleSize);
  system += 2 + varint32Size(deliveryAttempt); // field numbers 16 and up take two tag bytes
  if (present(MESSAGE_GROUP)) system += 2 + delimited(slotLength(MESSAGE_GROUP));
  if (present(TRACE_CONTEXT)) system += 2 + delimited(slotLength(TRACE_CONTEXT));
  let message = 1 + delimited(resourceSize) + 1 + delimited(system);
  for (let i = 0; i < users; i++) message += 1 + delimited(userEntrySize(i));
  const bodyLength = record.bodyLength;
  if (bodyLength !== 0) message += 1 + delimited(bodyLength);

  const size = 1 + delimited(message);
  pos = scratch.takeAt(size);
  out = scratch.bytes;
  const end = pos + size;
  out[pos++] = 0x12; // ReceiveMessageResponse.message
  varint(message);
  out[pos++] = 0x0a; // Message.topic
  varint(resourceSize);
  if (namespaceLength !== 0) textField(0x0a, namespace, namespaceLength);
  if (topicLength !== 0) rangeField(0x12, source, record.topicStart, record.topicStart + topicLength);
  for (let i = 0; i < users; i++) {
    out[pos++] = 0x12; // Message.user_properties: an entry of key 1, value 2
    varint(userEntrySize(i));
    rangeField(0x0a, source, userRanges[4 * i], userRanges[4 * i + 1]);
    rangeField(0x12, source, userRanges[4 * i + 2], userRanges[4 * i + 3]);
  }
  out[pos++] = 0x1a; // Message.system_properties
  varint(system);
  if (present(TAG)) slotField(0x0a, source, TAG);
  for (const key of keys) textField(0x12, key, Buffer.byteLength(key));
  if (present(MESSAGE_ID) && slotLength(MESSAGE_ID) !== 0) slotField(0x1a, source, MESSAGE_ID);
  out[pos++] = 0x22; // body_digest
  varint(digestSize);
  (out[pos++] = 0x08, out[pos++] = 2); // DigestType.MD5
  if (computedMd5 !== undefined) textField(0x12, computedMd5, md5Length);
  else if (md5Length !== 0) slotField(0x12, source, BODY_MD5);
  (out[pos++] = 0x28, out[pos++] = bodyEncoding);
  (out[pos++] = 0x30, out[pos++] = messageType);
  millisField(0x3a, bornMs, bornSize);
  if (present(BORN_HOST) && slotLength(BORN_HOST) !== 0) slotField(0x42, source, BORN_HOST);
  millisField(0x4a, storeMs, storeSize);
  if (storeHostLength !== 0) textField(0x52, storeHost, storeHostLength);
  if (deliverAtMs !== undefined) millisField(0x5a, deliverAtMs, deliverAtSize);
  textField(0x62, receiptHandle, handleLength);
  if (queueId !== 0) (out[pos++] = 0x68, varint(queueId));
  (out[pos++] = 0x70, numberVarint(queueOffset));
  millisField(0x7a, invisibleMs, invisibleSize);
  (out[pos++] = 0x80, out[pos++] = 0x01, varint(deliveryAttempt)); // field 16, varint
  if (present(MESSAGE_GROUP)) (out[pos++] = 0x8a, out[pos++] = 0x01, varint(slotLength(MESSAGE_GROUP)), copy(source, slots[2 * MESSAGE_GROUP], slots[2 * MESSAGE_GROUP + 1]));
  if (present(TRACE_CONTEXT)) (out[pos++] = 0x92, out[pos++] = 0x01, varint(slotLength(TRACE_CONTEXT)), copy(source, slots[2 * TRACE_CONTEXT], slots[2 * TRACE_CONTEXT + 1]));
  if (bodyLength !== 0) rangeField(0x22, source, record.bodyStart, record.bodyStart + bodyLength);
  if (pos !== end) throw new Error(`delivery frame size mismatch: wrote ${size - (end - pos)} of ${size} bytes`);
  out = EMPTY;
  return scratch.written();
}

const EMPTY = Buffer.alloc(0);

function userEntrySize(i: number): number {
  return 1 + delimited(userRanges[4 * i + 1] - userRanges[4 * i]) + 1 + delimited(userRanges[4 * i + 3] - userRanges[4 * i + 2]);
}
