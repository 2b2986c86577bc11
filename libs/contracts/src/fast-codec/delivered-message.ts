// A ReceiveMessage frame carrying one delivered message, encoded straight from flat fields (what
// a stored record holds plus the delivery's own), with no apache.rocketmq.v2.Message object graph
// in between: no SystemProperties, Digest, Timestamp, Duration or Resource objects, no BigInt, no
// user-property object per delivery. The bytes are what encodeReceiveMessageResponse makes of the
// message the broker would otherwise build (delivered-message.test.ts checks that against the
// generated code). The encoding runs when grpc-js serializes the frame, into its scratch buffer.
import { LengthQueue, varint32Size, type ScratchBuffer, WireWriter } from './wire';

export const DELIVERED_MESSAGE = 'rmq.DeliveredMessage';

export interface DeliveredMessage {
  /** Tells the ReceiveMessage serializer this frame encodes itself (rpc-codecs.ts). */
  $typeName: typeof DELIVERED_MESSAGE;
  topic: string;
  namespace: string;
  /** The record's properties: those whose key starts with `userPropertyPrefix` are the user properties (prefix cut). */
  properties: ReadonlyMap<string, string>;
  userPropertyPrefix: string;
  tag: string | undefined;
  keys: readonly string[];
  messageId: string;
  /** MD5 of the body, upper-case hex (DigestType MD5). */
  bodyMd5Hex: string;
  /** v2.Encoding: IDENTITY 1, GZIP 2. */
  bodyEncoding: number;
  /** v2.MessageType, never 0. */
  messageType: number;
  bornTimestampMs: number;
  bornHost: string;
  storeTimestampMs: number;
  storeHost: string;
  deliveryTimestampMs: number | undefined;
  receiptHandle: string;
  queueId: number;
  queueOffset: number;
  invisibleMs: number;
  deliveryAttempt: number;
  messageGroup: string | undefined;
  traceContext: string | undefined;
  body: Uint8Array;
}

export function isDeliveredMessage(m: unknown): m is DeliveredMessage {
  return (m as { $typeName?: string }).$typeName === DELIVERED_MESSAGE;
}

/**
 * Whether the fast encoder covers these values: millisecond times and offsets that are whole and
 * not negative (every stored record's). Anything else takes the generic path.
 */
export function deliveredMessageEncodable(m: DeliveredMessage): boolean {
  return (
    wholeNonNegative(m.bornTimestampMs) && wholeNonNegative(m.storeTimestampMs) && wholeNonNegative(m.queueOffset) && wholeNonNegative(m.invisibleMs) &&
    (m.deliveryTimestampMs === undefined || wholeNonNegative(m.deliveryTimestampMs)) &&
    m.queueId >= 0 && m.queueId <= 0x7fffffff && Number.isInteger(m.queueId) &&
    m.deliveryAttempt >= 0 && m.deliveryAttempt <= 0x7fffffff && Number.isInteger(m.deliveryAttempt) &&
    m.messageType > 0 && m.messageType <= 0x7fffffff && m.bodyEncoding > 0 && m.bodyEncoding <= 0x7fffffff
  );
}

function wholeNonNegative(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

const lengths = new LengthQueue();

/** A varint of a safe, non-negative integer (seconds, offsets) without BigInt. */
function numberVarintSize(value: number): number {
  if (value < 0x10000000) return varint32Size(value);
  let size = 4;
  for (let rest = Math.floor(value / 0x10000000); rest > 0; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

function writeNumberVarint(w: WireWriter, value: number): void {
  if (value <= 0x7fffffff) {
    w.uint32(value);
    return;
  }
  const buf = w.buf;
  while (value > 0x7f) {
    buf[w.pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[w.pos++] = value;
}

/** Timestamp / Duration of `ms` (seconds = 1, nanos = 2), without tag and length. */
function millisSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms % 1000) * 1_000_000;
  return (seconds !== 0 ? 1 + numberVarintSize(seconds) : 0) + (nanos !== 0 ? 1 + varint32Size(nanos) : 0);
}

function writeMillis(w: WireWriter, tag: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms % 1000) * 1_000_000;
  w.uint32(tag);
  w.length();
  if (seconds !== 0) (w.uint32(0x08), writeNumberVarint(w, seconds));
  if (nanos !== 0) (w.uint32(0x10), w.uint32(nanos));
}

function stringField(text: string): number {
  return 1 + lengths.string(text);
}

function systemPropertiesSize(m: DeliveredMessage): number {
  let size = 0;
  if (m.tag !== undefined) size += stringField(m.tag);
  for (const key of m.keys) size += stringField(key);
  if (m.messageId !== '') size += stringField(m.messageId);
  size += 1 + lengths.fill(lengths.reserve(), 2 + (m.bodyMd5Hex !== '' ? stringField(m.bodyMd5Hex) : 0)); // digest: type MD5 (2), checksum
  size += 1 + varint32Size(m.bodyEncoding);
  size += 1 + varint32Size(m.messageType);
  size += 1 + lengths.fill(lengths.reserve(), millisSize(m.bornTimestampMs));
  if (m.bornHost !== '') size += stringField(m.bornHost);
  size += 1 + lengths.fill(lengths.reserve(), millisSize(m.storeTimestampMs));
  if (m.storeHost !== '') size += stringField(m.storeHost);
  if (m.deliveryTimestampMs !== undefined) size += 1 + lengths.fill(lengths.reserve(), millisSize(m.deliveryTimestampMs));
  size += stringField(m.receiptHandle);
  if (m.queueId !== 0) size += 1 + varint32Size(m.queueId);
  size += 1 + numberVarintSize(m.queueOffset);
  size += 1 + lengths.fill(lengths.reserve(), millisSize(m.invisibleMs));
  size += 2 + varint32Size(m.deliveryAttempt); // field numbers 16 and up take two tag bytes
  if (m.messageGroup !== undefined) size += 1 + stringField(m.messageGroup);
  if (m.traceContext !== undefined) size += 1 + stringField(m.traceContext);
  return size;
}

function messageSize(m: DeliveredMessage): number {
  let size = 1 + lengths.fill(lengths.reserve(), (m.namespace !== '' ? stringField(m.namespace) : 0) + (m.topic !== '' ? stringField(m.topic) : 0));
  const prefix = m.userPropertyPrefix;
  for (const [key, value] of m.properties) {
    if (!key.startsWith(prefix)) continue;
    const slot = lengths.reserve();
    size += 1 + lengths.fill(slot, stringField(key.slice(prefix.length)) + stringField(value));
  }
  size += 1 + lengths.fill(lengths.reserve(), systemPropertiesSize(m));
  if (m.body.byteLength !== 0) size += 1 + varint32Size(m.body.byteLength) + m.body.byteLength;
  return size;
}

function writeSystemProperties(w: WireWriter, m: DeliveredMessage): void {
  if (m.tag !== undefined) (w.uint32(0x0a), w.string(m.tag));
  for (const key of m.keys) (w.uint32(0x12), w.string(key));
  if (m.messageId !== '') (w.uint32(0x1a), w.string(m.messageId));
  w.uint32(0x22);
  w.length();
  w.uint32(0x08);
  w.uint32(2); // DigestType.MD5
  if (m.bodyMd5Hex !== '') (w.uint32(0x12), w.string(m.bodyMd5Hex));
  (w.uint32(0x28), w.uint32(m.bodyEncoding));
  (w.uint32(0x30), w.uint32(m.messageType));
  writeMillis(w, 0x3a, m.bornTimestampMs);
  if (m.bornHost !== '') (w.uint32(0x42), w.string(m.bornHost));
  writeMillis(w, 0x4a, m.storeTimestampMs);
  if (m.storeHost !== '') (w.uint32(0x52), w.string(m.storeHost));
  if (m.deliveryTimestampMs !== undefined) writeMillis(w, 0x5a, m.deliveryTimestampMs);
  (w.uint32(0x62), w.string(m.receiptHandle));
  if (m.queueId !== 0) (w.uint32(0x68), w.uint32(m.queueId));
  (w.uint32(0x70), writeNumberVarint(w, m.queueOffset));
  writeMillis(w, 0x7a, m.invisibleMs);
  (w.uint32(16 << 3), w.uint32(m.deliveryAttempt));
  if (m.messageGroup !== undefined) (w.uint32((17 << 3) | 2), w.string(m.messageGroup));
  if (m.traceContext !== undefined) (w.uint32((18 << 3) | 2), w.string(m.traceContext));
}

/**
 * The ReceiveMessageResponse { message } frame of `m`, as encodeReceiveMessageResponse encodes
 * the equivalent v2.Message. Call deliveredMessageEncodable first.
 */
export function encodeDeliveredMessageFrame(m: DeliveredMessage, scratch?: ScratchBuffer): Buffer {
  lengths.reset();
  const size = 1 + lengths.fill(lengths.reserve(), messageSize(m));
  const w = new WireWriter(size, lengths, scratch);
  w.uint32(0x12); // ReceiveMessageResponse.message
  w.length();
  w.uint32(0x0a); // Message.topic
  w.length();
  if (m.namespace !== '') (w.uint32(0x0a), w.string(m.namespace));
  if (m.topic !== '') (w.uint32(0x12), w.string(m.topic));
  const prefix = m.userPropertyPrefix;
  for (const [key, value] of m.properties) {
    if (!key.startsWith(prefix)) continue;
    w.uint32(0x12);
    w.length();
    w.uint32(0x0a);
    w.string(key.slice(prefix.length));
    w.uint32(0x12);
    w.string(value);
  }
  w.uint32(0x1a);
  w.length();
  writeSystemProperties(w, m);
  if (m.body.byteLength !== 0) (w.uint32(0x22), w.bytes(m.body));
  return w.buf;
}
