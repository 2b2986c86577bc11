// Receipt handles: opaque to clients, minted per delivery, and signed with the broker's secret
// so a forged or altered handle is refused instead of acking someone else's message. The
// delivery id ties a handle to one delivery: after a redelivery the old handle is stale.
//
// Format r2 (minted now), base64url of:
//   u8 version (2) | u8 flags (1 push, 2 member present) | u32 queueId | u64 queueOffset |
//   u16 length + UTF-8 of group, topic, deliveryId and (flag 2) member | 8-byte SipHash-2-4 tag
// of every byte before it, keyed by 16 bytes derived from the broker's persisted secret (so
// handles outlive a restart). A forgery is accepted with probability 2^-64 per try.
// Format r1 (minted before; still read): base64url(JSON array) + '.' + 16 bytes of HMAC-SHA256.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RmqError, sipHash24, sipHashKey, type SipHashKey } from '@rmq/base';

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

const VERSION = 2;
const FLAG_PUSH = 1;
const FLAG_MEMBER = 2;
const FIXED_BYTES = 14; // version, flags, queueId, queueOffset
const TAG_BYTES = 8;
const STRING_BYTES_MAX = 0xffff;

const keys = new WeakMap<Buffer, SipHashKey>();
const expectedTag = new Uint8Array(TAG_BYTES); // decoding is synchronous: one scratch buffer serves all
/** Minting and reading are synchronous: one scratch buffer serves every call (no Buffer per handle). */
let scratch = Buffer.allocUnsafe(512);

function scratchOf(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, 2 * scratch.length));
  return scratch;
}

/** The MAC key of a broker secret, derived once per secret (HMAC-SHA256 with a fixed label). */
function macKey(secret: Buffer): SipHashKey {
  let key = keys.get(secret);
  if (!key) {
    key = sipHashKey(createHmac('sha256', secret).update('rmq receipt handle r2').digest().subarray(0, 16));
    keys.set(secret, key);
  }
  return key;
}

export function encodeReceiptHandle(handle: ReceiptHandle, secret: Buffer): string {
  const member = handle.member;
  // Room for the worst case (3 bytes per UTF-16 unit), trimmed to what was written.
  const room = FIXED_BYTES + 8 + 3 * (handle.group.length + handle.topic.length + handle.deliveryId.length + (member?.length ?? 0)) + TAG_BYTES;
  const buf = scratchOf(room);
  buf[0] = VERSION;
  buf[1] = (handle.push ? FLAG_PUSH : 0) | (member !== undefined ? FLAG_MEMBER : 0);
  buf.writeUInt32BE(handle.queueId, 2);
  buf.writeUInt32BE(Math.floor(handle.queueOffset / 0x1_0000_0000), 6);
  buf.writeUInt32BE(handle.queueOffset >>> 0, 10);
  let at = writeString(buf, FIXED_BYTES, handle.group);
  at = writeString(buf, at, handle.topic);
  at = writeString(buf, at, handle.deliveryId);
  if (member !== undefined) at = writeString(buf, at, member);
  sipHash24(macKey(secret), buf, 0, at, buf, at);
  return buf.toString('base64url', 0, at + TAG_BYTES);
}

export function decodeReceiptHandle(text: string, secret: Buffer): ReceiptHandle {
  if (text.includes('.')) return decodeV1(text, secret);
  // base64url decodes to at most 3 bytes per 4 characters.
  const whole = scratchOf(Math.ceil((text.length * 3) / 4));
  const length = whole.write(text, 0, 'base64url');
  const buf = whole.subarray(0, length);
  if (buf.length < FIXED_BYTES + 6 + TAG_BYTES || buf[0] !== VERSION) throw invalid('it is not a handle this broker issued');
  const end = buf.length - TAG_BYTES;
  sipHash24(macKey(secret), buf, 0, end, expectedTag, 0);
  let difference = 0; // constant time: every byte is compared
  for (let i = 0; i < TAG_BYTES; i++) difference |= expectedTag[i] ^ buf[end + i];
  if (difference !== 0) throw invalid('its signature does not match (forged, altered, or from another broker)');
  // Signed by us, so well-formed; the reads below are checked anyway.
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

// ---- r1: handles minted before r2, read so that deliveries in flight across an upgrade can still be acked ----

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
