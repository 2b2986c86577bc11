// Receipt handles: opaque to clients, minted per delivery, and signed with the broker's secret
// so a forged or altered handle is refused instead of acking someone else's message. The
// delivery id ties a handle to one delivery: after a redelivery the old handle is stale.
//
// Format r3 (minted now), base64url of:
//   u8 version (3) | u8 flags (1 push, 2 member present) | u32 queueId | u64 queueOffset |
//   u8 length + UTF-8 of the delivery id | (flag 2) u16 length + UTF-8 of the member | 8-byte tag
// The tag is SipHash-2-4, keyed by 16 bytes derived from the broker's persisted secret (so handles
// outlive a restart and a failover), of the consumer group and topic (u16 length + UTF-8 each,
// zero-padded to whole 8-byte blocks) followed by every byte of the handle before the tag. The
// group and topic are not in the handle: every call that takes one names them, so they are
// checked by the tag, and their blocks are hashed once per (group, topic), not per handle.
// A forgery is accepted with probability 2^-64 per try.
// Formats r2 (binary with the group and topic, tag over the handle alone) and r1 (base64url JSON +
// '.' + HMAC-SHA256) were minted before and are still read, so deliveries in flight across an
// upgrade can still be acked.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RmqError, sipHash24, sipHash24Resume, sipHashKey, sipHashPrefix, sipHashScratch, type SipHashKey, type SipHashPrefix } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';

export interface ReceiptHandle {
  group: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  deliveryId: string;
  /**
   * Received by a push consumer (auto-renew): its ChangeInvisibleDuration is a nack, and the
   * group's retry schedule decides when the message comes back.
   */
  push?: boolean;
  /** Broadcast groups: the member (client id) whose progress the delivery belongs to. */
  member?: string;
}

const VERSION = 3;
const V2_VERSION = 2;
const FLAG_PUSH = 1;
const FLAG_MEMBER = 2;
const FIXED_BYTES = 14; // version, flags, queueId, queueOffset
const TAG_BYTES = 8;
const DELIVERY_ID_BYTES_MAX = 0xff;
const STRING_BYTES_MAX = 0xffff;

/** Per broker secret: the SipHash keys (r3, r2) and the r3 prefix state of each (group, topic). */
interface Keys {
  r3: SipHashKey;
  r2: SipHashKey;
  prefixes: Map<string, Map<string, SipHashPrefix>>;
  prefixCount: number;
}

const keysBySecret = new WeakMap<Buffer, Keys>();
const expectedTag = new Uint8Array(TAG_BYTES); // decoding is synchronous: one scratch buffer serves all
/** The tag presented with an r3 handle (the scratch's tag overwrites it in place). */
const presentedTag = new Uint8Array(TAG_BYTES);
/**
 * Minting and reading are synchronous: one scratch serves every call (no Buffer per handle). A
 * handle is written where SipHash reads it (WebAssembly memory: siphash-wasm.ts); one too long
 * for that (a member name of tens of KiB) goes through `scratch` and SipHash in JavaScript.
 */
const tagger = sipHashScratch();
let scratch = Buffer.allocUnsafe(512);
/** The group, topic and prefix of the last handle minted or read (a receive or an ack names one pair for all its handles). */
let last: { secret: Buffer; group: string; topic: string; prefix: SipHashPrefix } | undefined;

function scratchOf(bytes: number): Buffer {
  if (bytes <= tagger.lengthMax) return tagger.bytes;
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * scratch.length));
  return scratch;
}

/** The MAC keys of a broker secret, derived once per secret (HMAC-SHA256 with a fixed label each). */
function keysOf(secret: Buffer): Keys {
  let keys = keysBySecret.get(secret);
  if (!keys) {
    const derive = (label: string) => sipHashKey(createHmac('sha256', secret).update(label).digest().subarray(0, 16));
    keys = { r3: derive('rmq receipt handle r3'), r2: derive('rmq receipt handle r2'), prefixes: new Map(), prefixCount: 0 };
    keysBySecret.set(secret, keys);
  }
  return keys;
}

/** The SipHash state after the (group, topic) blocks that start every r3 tag input. */
function prefixOf(secret: Buffer, group: string, topic: string): SipHashPrefix {
  if (last !== undefined && last.secret === secret && last.group === group && last.topic === topic) return last.prefix;
  const keys = keysOf(secret);
  let topics = keys.prefixes.get(group);
  let prefix = topics?.get(topic);
  if (!prefix) {
    if (keys.prefixCount >= MESSAGING_LIMITS.receiptPrefixesMax) {
      keys.prefixes.clear();
      keys.prefixCount = 0;
      topics = undefined;
    }
    // A call may name anything: no handle is issued for names the prefix cannot hold.
    const groupBytes = Buffer.byteLength(group);
    const topicBytes = Buffer.byteLength(topic);
    if (groupBytes > STRING_BYTES_MAX || topicBytes > STRING_BYTES_MAX) throw invalid(`no handle is issued for a consumer group or topic name over ${STRING_BYTES_MAX} bytes`);
    const buf = Buffer.alloc(4 + groupBytes + topicBytes + 7);
    let at = writeString(buf, 0, group);
    at = writeString(buf, at, topic);
    at = (at + 7) & ~7; // zero padding to whole blocks (the lengths make it unambiguous)
    prefix = sipHashPrefix(keys.r3, buf, 0, at);
    if (!topics) keys.prefixes.set(group, (topics = new Map()));
    topics.set(topic, prefix);
    keys.prefixCount++;
  }
  last = { secret, group, topic, prefix };
  return prefix;
}

export function encodeReceiptHandle(handle: ReceiptHandle, secret: Buffer): string {
  const member = handle.member;
  const deliveryId = handle.deliveryId;
  // Room for the worst case (3 bytes per UTF-16 unit), trimmed to what was written.
  const buf = scratchOf(FIXED_BYTES + 3 + 3 * (deliveryId.length + (member?.length ?? 0)) + TAG_BYTES);
  buf[0] = VERSION;
  buf[1] = (handle.push ? FLAG_PUSH : 0) | (member !== undefined ? FLAG_MEMBER : 0);
  buf.writeUInt32BE(handle.queueId, 2);
  buf.writeUInt32BE(Math.floor(handle.queueOffset / 0x1_0000_0000), 6);
  buf.writeUInt32BE(handle.queueOffset >>> 0, 10);
  const idBytes = writeAscii(buf, FIXED_BYTES + 1, deliveryId) ?? buf.write(deliveryId, FIXED_BYTES + 1, 'utf8');
  if (idBytes > DELIVERY_ID_BYTES_MAX) throw new Error(`a delivery id is at most ${DELIVERY_ID_BYTES_MAX} bytes, got ${idBytes}`);
  buf[FIXED_BYTES] = idBytes;
  let at = FIXED_BYTES + 1 + idBytes;
  if (member !== undefined) at = writeString(buf, at, member);
  const prefix = prefixOf(secret, handle.group, handle.topic);
  if (buf === tagger.bytes) tagger.resume(prefix, at);
  else sipHash24Resume(prefix, buf, 0, at, buf, at);
  return buf.toString('base64url', 0, at + TAG_BYTES);
}

/** Verifies a handle given for (group, topic) and reads it into a new object; throws INVALID_RECEIPT_HANDLE. */
export function decodeReceiptHandle(text: string, secret: Buffer, group: string, topic: string): ReceiptHandle {
  return verifyReceiptHandle(text, secret, group, topic, { group, topic, queueId: 0, queueOffset: 0, deliveryId: '', push: undefined, member: undefined });
}

/**
 * Verifies a handle given for (group, topic) and reads it into `out` (reused by callers that
 * check many: no object per handle); throws INVALID_RECEIPT_HANDLE, saying why.
 */
export function verifyReceiptHandle(text: string, secret: Buffer, group: string, topic: string, out: ReceiptHandle): ReceiptHandle {
  if (text.includes('.')) return checkOwner(decodeV1(text, secret), group, topic, out);
  // base64url decodes to at most 3 bytes per 4 characters.
  const whole = scratchOf(Math.ceil((text.length * 3) / 4));
  const length = whole.write(text, 0, 'base64url');
  if (length > 0 && whole[0] === V2_VERSION) return checkOwner(decodeV2(whole.subarray(0, length), secret), group, topic, out);
  if (length < FIXED_BYTES + 1 + TAG_BYTES || whole[0] !== VERSION) throw invalid('it is not a handle this broker issued');
  const end = length - TAG_BYTES;
  const prefix = prefixOf(secret, group, topic);
  for (let i = 0; i < TAG_BYTES; i++) presentedTag[i] = whole[end + i];
  if (whole === tagger.bytes) tagger.resume(prefix, end); // the expected tag, over the presented one
  else sipHash24Resume(prefix, whole, 0, end, whole, end);
  let difference = 0; // constant time: every byte is compared
  for (let i = 0; i < TAG_BYTES; i++) difference |= presentedTag[i] ^ whole[end + i];
  if (difference !== 0) {
    throw invalid(`its signature does not match: it was forged or altered, comes from another broker, or was issued for another consumer group or topic than ${group} / ${topic}`);
  }
  // Signed by us, so well-formed; the reads below are checked anyway.
  const idEnd = FIXED_BYTES + 1 + whole[FIXED_BYTES];
  if (idEnd > end) throw invalid('it has an unknown format');
  out.group = group;
  out.topic = topic;
  out.queueId = whole.readUInt32BE(2);
  out.queueOffset = whole.readUInt32BE(6) * 0x1_0000_0000 + whole.readUInt32BE(10);
  out.deliveryId = whole.toString('utf8', FIXED_BYTES + 1, idEnd);
  // Absent flags are undefined, not deleted: `out` keeps its shape (a deleted property makes V8 slow it down).
  out.push = (whole[1] & FLAG_PUSH) !== 0 ? true : undefined;
  if ((whole[1] & FLAG_MEMBER) !== 0) {
    const reader = { at: idEnd };
    out.member = readString(whole, reader, end);
    if (reader.at !== end) throw invalid('it has an unknown format');
  } else {
    out.member = undefined;
    if (idEnd !== end) throw invalid('it has an unknown format');
  }
  return out;
}

/** base64url character code -> its 6 bits; -1 for any other character. */
const SEXTETS = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();
/** The characters that hold an r3 handle's fixed fields (bytes 0-13: 4 characters per 3 bytes). */
const FIXED_CHARS = 20;
/** Characters of the shortest r3 handle (an empty delivery id). */
const R3_CHARS_MIN = Math.ceil(((FIXED_BYTES + 1 + TAG_BYTES) * 4) / 3);
const fixedScratch = new Uint8Array((FIXED_CHARS / 4) * 3);

/**
 * The queue and offset an r3 handle names, read without checking its tag: only to find the
 * delivery it may belong to, whose handle as minted the caller then compares with `text`
 * (sameReceiptHandle). False when `text` is not an r3 handle. Decoded here, not by Buffer's
 * base64url: 20 characters cost less than the native call.
 */
export function receiptHandlePosition(text: string, out: { queueId: number; queueOffset: number }): boolean {
  if (text.length < R3_CHARS_MIN) return false;
  const bytes = fixedScratch;
  for (let group = 0; group < FIXED_CHARS / 4; group++) {
    let bits = 0;
    for (let i = 4 * group; i < 4 * group + 4; i++) {
      const code = text.charCodeAt(i);
      const sextet = code < 128 ? SEXTETS[code] : -1;
      if (sextet < 0) return false;
      bits = (bits << 6) | sextet;
    }
    bytes[3 * group] = bits >>> 16;
    bytes[3 * group + 1] = bits >>> 8;
    bytes[3 * group + 2] = bits;
  }
  if (bytes[0] !== VERSION) return false;
  out.queueId = ((bytes[2] << 24) | (bytes[3] << 16) | (bytes[4] << 8) | bytes[5]) >>> 0;
  out.queueOffset = (((bytes[6] << 24) | (bytes[7] << 16) | (bytes[8] << 8) | bytes[9]) >>> 0) * 0x1_0000_0000 + (((bytes[10] << 24) | (bytes[11] << 16) | (bytes[12] << 8) | bytes[13]) >>> 0);
  return true;
}

/**
 * The fields of a handle this process minted and kept for a delivery (sameReceiptHandle said the
 * text is that handle), read without its tag: what ChangeInvisibleDuration and the dead-letter
 * move need besides the delivery id and member, which the caller takes from the delivery.
 */
export function keptReceiptHandle(text: string, group: string, topic: string, deliveryId: string, member: string | undefined): ReceiptHandle | undefined {
  const handle: ReceiptHandle = { group, topic, queueId: 0, queueOffset: 0, deliveryId, push: undefined, member };
  if (!receiptHandlePosition(text, handle)) return undefined;
  handle.push = (fixedScratch[1] & FLAG_PUSH) !== 0 ? true : undefined; // the flags byte, just decoded
  return handle;
}

/**
 * Whether a handle presented is exactly one this broker minted (kept since): then it needs no tag
 * check. Every character is compared (no early exit), so the time says nothing of where they differ.
 */
export function sameReceiptHandle(minted: string, presented: string): boolean {
  if (minted.length !== presented.length) return false;
  let difference = 0;
  for (let i = 0; i < minted.length; i++) difference |= minted.charCodeAt(i) ^ presented.charCodeAt(i);
  return difference === 0;
}

/** An r1 or r2 handle names its group and topic: they must be the ones the call names. */
function checkOwner(handle: ReceiptHandle, group: string, topic: string, out: ReceiptHandle): ReceiptHandle {
  if (handle.group !== group) throw invalid(`it belongs to consumer group ${handle.group}, not ${group}`);
  if (handle.topic !== topic) throw invalid(`it belongs to topic ${handle.topic}, not ${topic}`);
  out.group = handle.group;
  out.topic = handle.topic;
  out.queueId = handle.queueId;
  out.queueOffset = handle.queueOffset;
  out.deliveryId = handle.deliveryId;
  out.push = handle.push;
  out.member = handle.member;
  return out;
}

/**
 * Writes an ASCII string byte by byte (what UTF-8 makes of it), without a native call: delivery
 * ids are ASCII, and for 13 characters the call costs more than the copy. Undefined, with bytes
 * left half-written, for a string that is not ASCII.
 */
function writeAscii(buf: Buffer, at: number, text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return undefined;
    buf[at + i] = code;
  }
  return text.length;
}

function writeString(buf: Buffer, at: number, text: string): number {
  const length = buf.write(text, at + 2, 'utf8');
  if (length > STRING_BYTES_MAX) throw new Error(`a receipt handle field is over ${STRING_BYTES_MAX} bytes`);
  buf.writeUInt16BE(length, at);
  return at + 2 + length;
}

function readString(buf: Buffer, reader: { at: number }, end: number): string {
  if (reader.at + 2 > end) throw invalid('it has an unknown format');
  const length = buf.readUInt16BE(reader.at);
  const start = reader.at + 2;
  reader.at = start + length;
  if (reader.at > end) throw invalid('it has an unknown format');
  return buf.toString('utf8', start, reader.at);
}

// ---- r2: the binary format minted before r3 (group and topic in the handle, tag over the handle alone) ----

/** An r2 handle as brokers minted it before r3 (exported for tests that mint r2 handles). */
export function encodeReceiptHandleV2(handle: ReceiptHandle, secret: Buffer): string {
  const member = handle.member;
  const buf = scratchOf(FIXED_BYTES + 8 + 3 * (handle.group.length + handle.topic.length + handle.deliveryId.length + (member?.length ?? 0)) + TAG_BYTES);
  buf[0] = V2_VERSION;
  buf[1] = (handle.push ? FLAG_PUSH : 0) | (member !== undefined ? FLAG_MEMBER : 0);
  buf.writeUInt32BE(handle.queueId, 2);
  buf.writeUInt32BE(Math.floor(handle.queueOffset / 0x1_0000_0000), 6);
  buf.writeUInt32BE(handle.queueOffset >>> 0, 10);
  let at = writeString(buf, FIXED_BYTES, handle.group);
  at = writeString(buf, at, handle.topic);
  at = writeString(buf, at, handle.deliveryId);
  if (member !== undefined) at = writeString(buf, at, member);
  sipHash24(keysOf(secret).r2, buf, 0, at, buf, at);
  return buf.toString('base64url', 0, at + TAG_BYTES);
}

function decodeV2(buf: Buffer, secret: Buffer): ReceiptHandle {
  if (buf.length < FIXED_BYTES + 6 + TAG_BYTES) throw invalid('it is not a handle this broker issued');
  const end = buf.length - TAG_BYTES;
  sipHash24(keysOf(secret).r2, buf, 0, end, expectedTag, 0);
  let difference = 0;
  for (let i = 0; i < TAG_BYTES; i++) difference |= expectedTag[i] ^ buf[end + i];
  if (difference !== 0) throw invalid('its signature does not match (forged, altered, or from another broker)');
  const reader = { at: FIXED_BYTES };
  const handle: ReceiptHandle = {
    group: readString(buf, reader, end),
    topic: readString(buf, reader, end),
    queueId: buf.readUInt32BE(2),
    queueOffset: buf.readUInt32BE(6) * 0x1_0000_0000 + buf.readUInt32BE(10),
    deliveryId: '',
  };
  handle.deliveryId = readString(buf, reader, end);
  if (buf[1] & FLAG_PUSH) handle.push = true;
  if (buf[1] & FLAG_MEMBER) handle.member = readString(buf, reader, end);
  if (reader.at !== end) throw invalid('it has an unknown format');
  return handle;
}

// ---- r1: handles minted before r2 ----

const V1_VERSION = 'r1';
const V1_MAC_BYTES = 16;

function decodeV1(text: string, secret: Buffer): ReceiptHandle {
  const [payload, signature, extra] = text.split('.');
  if (!payload || !signature || extra !== undefined) throw invalid('it is not a handle this broker issued');
  const expected = Buffer.from(macV1(payload, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid('its signature does not match (forged, altered, or from another broker)');
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid('it cannot be read');
  }
  // Six fields, a seventh with the push flag (0 or 1), an eighth with a broadcast member.
  if (!Array.isArray(fields) || fields[0] !== V1_VERSION || fields.length < 6 || fields.length > 8) throw invalid('it has an unknown format');
  const [, group, topic, queueId, queueOffset, deliveryId, push, member] = fields as [string, string, string, number, number, string, number | undefined, string | undefined];
  const handle: ReceiptHandle = { group, topic, queueId, queueOffset, deliveryId };
  if (push === 1) handle.push = true;
  if (typeof member === 'string') handle.member = member;
  return handle;
}

/** The r1 signature (exported for tests that mint r1 handles). */
export function macV1(payload: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, V1_MAC_BYTES).toString('base64url');
}

function invalid(reason: string): RmqError {
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
}
