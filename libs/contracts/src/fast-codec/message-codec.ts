// apache.rocketmq.v2.Message and what it holds, decoded and encoded by hand: one pass over the
// bytes, no reflection, bodies as slices of the input. The objects are exactly what
// @bufbuild/protobuf's fromBinary makes (same fields, zero values, $unknown), so handlers cannot
// tell the two apart; message-codec.test.ts checks that, field by field, against the generated code.
import type { UnknownField } from '@bufbuild/protobuf';
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import type { DeadLetterQueue, Digest, Message, Resource, Status, SystemProperties } from '../gen/apache/rocketmq/v2/definition_pb';
import { int64Size, LengthQueue, unknownFieldsSize, varint32Size, WireReader, WireWriter } from './wire';

const EMPTY_BYTES = new Uint8Array(0);

function withUnknown(message: { $unknown?: UnknownField[] }, field: UnknownField): void {
  (message.$unknown ??= []).push(field);
}

// ---- decoding ----

export function decodeResource(r: WireReader, end: number, into?: Resource): Resource {
  const m: Resource = into ?? { $typeName: 'apache.rocketmq.v2.Resource', resourceNamespace: '', name: '' };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.resourceNamespace = r.string();
    else if (r.fieldNo === 2) m.name = r.string();
    else withUnknown(m, r.unknown());
  }
  return m;
}

/** Timestamp and Duration share their layout: int64 seconds = 1, int32 nanos = 2. */
function decodeSecondsNanos<M extends Timestamp | Duration>(r: WireReader, end: number, m: M): M {
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.seconds = r.int64();
    else if (r.fieldNo === 2) m.nanos = r.int32();
    else withUnknown(m, r.unknown());
  }
  return m;
}

function decodeTimestamp(r: WireReader, end: number, into: Timestamp | undefined): Timestamp {
  return decodeSecondsNanos(r, end, into ?? { $typeName: 'google.protobuf.Timestamp', seconds: 0n, nanos: 0 });
}

export function decodeDuration(r: WireReader, end: number, into: Duration | undefined): Duration {
  return decodeSecondsNanos(r, end, into ?? { $typeName: 'google.protobuf.Duration', seconds: 0n, nanos: 0 });
}

function decodeDigest(r: WireReader, end: number, into: Digest | undefined): Digest {
  const m: Digest = into ?? { $typeName: 'apache.rocketmq.v2.Digest', type: 0, checksum: '' };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.type = r.int32();
    else if (r.fieldNo === 2) m.checksum = r.string();
    else withUnknown(m, r.unknown());
  }
  return m;
}

function decodeDeadLetterQueue(r: WireReader, end: number, into: DeadLetterQueue | undefined): DeadLetterQueue {
  const m: DeadLetterQueue = into ?? { $typeName: 'apache.rocketmq.v2.DeadLetterQueue', topic: '', messageId: '' };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.topic = r.string();
    else if (r.fieldNo === 2) m.messageId = r.string();
    else withUnknown(m, r.unknown());
  }
  return m;
}

export function emptySystemProperties(): SystemProperties {
  return { $typeName: 'apache.rocketmq.v2.SystemProperties', keys: [], messageId: '', bodyEncoding: 0, messageType: 0, bornHost: '', storeHost: '', queueId: 0 };
}

export function decodeSystemProperties(r: WireReader, end: number, into?: SystemProperties): SystemProperties {
  const m = into ?? emptySystemProperties();
  while (r.pos < end) {
    r.tag();
    decodeSystemPropertiesField(r, m);
  }
  return m;
}

/** The field whose tag was just read, into `m` (send-request.ts reads the fields it drops with this). */
export function decodeSystemPropertiesField(r: WireReader, m: SystemProperties): void {
  switch (r.fieldNo) {
    case 1: m.tag = r.string(); break;
    case 2: m.keys.push(r.string()); break;
    case 3: m.messageId = r.string(); break;
    case 4: m.bodyDigest = decodeDigest(r, r.nestedEnd(), m.bodyDigest); break;
    case 5: m.bodyEncoding = r.int32(); break;
    case 6: m.messageType = r.int32(); break;
    case 7: m.bornTimestamp = decodeTimestamp(r, r.nestedEnd(), m.bornTimestamp); break;
    case 8: m.bornHost = r.string(); break;
    case 9: m.storeTimestamp = decodeTimestamp(r, r.nestedEnd(), m.storeTimestamp); break;
    case 10: m.storeHost = r.string(); break;
    case 11: m.deliveryTimestamp = decodeTimestamp(r, r.nestedEnd(), m.deliveryTimestamp); break;
    case 12: m.receiptHandle = r.string(); break;
    case 13: m.queueId = r.int32(); break;
    case 14: m.queueOffset = r.int64(); break;
    case 15: m.invisibleDuration = decodeDuration(r, r.nestedEnd(), m.invisibleDuration); break;
    case 16: m.deliveryAttempt = r.int32(); break;
    case 17: m.messageGroup = r.string(); break;
    case 18: m.traceContext = r.string(); break;
    case 19: m.orphanedTransactionRecoveryDuration = decodeDuration(r, r.nestedEnd(), m.orphanedTransactionRecoveryDuration); break;
    case 20: m.deadLetterQueue = decodeDeadLetterQueue(r, r.nestedEnd(), m.deadLetterQueue); break;
    case 21: m.liteTopic = r.string(); break;
    case 22: m.priority = r.int32(); break;
    default: withUnknown(m, r.unknown());
  }
}

/** One map<string, string> entry; a missing key or value is '' (as the generated code does). */
export function decodeStringEntry(r: WireReader, end: number, map: Record<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    r.tag();
    // Other field numbers are not skipped: the generated reader does not skip them either.
    if (r.fieldNo === 1) key = r.string();
    else if (r.fieldNo === 2) value = r.string();
  }
  map[key] = value;
}

export function decodeMessage(r: WireReader, end: number): Message {
  const m: Message = { $typeName: 'apache.rocketmq.v2.Message', userProperties: {}, body: EMPTY_BYTES };
  while (r.pos < end) {
    r.tag();
    switch (r.fieldNo) {
      case 1: m.topic = decodeResource(r, r.nestedEnd(), m.topic); break;
      case 2: decodeStringEntry(r, r.nestedEnd(), m.userProperties); break;
      case 3: m.systemProperties = decodeSystemProperties(r, r.nestedEnd(), m.systemProperties); break;
      case 4: m.body = r.bytes(); break;
      default: withUnknown(m, r.unknown());
    }
  }
  return m;
}

// ---- sizes (fields in the order the writer writes them) ----
// Each returns the message's size without its own tag and length, and queues lengths for the writer.

function stringField(q: LengthQueue, text: string): number {
  return 1 + q.string(text); // every tag below is one byte (field numbers up to 15)
}

function secondsNanosSize(m: Timestamp | Duration): number {
  return (m.seconds !== 0n ? 1 + int64Size(m.seconds) : 0) + (m.nanos !== 0 ? 1 + varint32Size(m.nanos) : 0) + unknownFieldsSize(m.$unknown);
}

export function resourceSize(q: LengthQueue, m: Resource): number {
  return (m.resourceNamespace !== '' ? stringField(q, m.resourceNamespace) : 0) + (m.name !== '' ? stringField(q, m.name) : 0) + unknownFieldsSize(m.$unknown);
}

export function statusSize(q: LengthQueue, m: Status): number {
  return (m.code !== 0 ? 1 + varint32Size(m.code) : 0) + (m.message !== '' ? stringField(q, m.message) : 0) + unknownFieldsSize(m.$unknown);
}

function digestSize(q: LengthQueue, m: Digest): number {
  return (m.type !== 0 ? 1 + varint32Size(m.type) : 0) + (m.checksum !== '' ? stringField(q, m.checksum) : 0) + unknownFieldsSize(m.$unknown);
}

function deadLetterQueueSize(q: LengthQueue, m: DeadLetterQueue): number {
  return (m.topic !== '' ? stringField(q, m.topic) : 0) + (m.messageId !== '' ? stringField(q, m.messageId) : 0) + unknownFieldsSize(m.$unknown);
}

function systemPropertiesSize(q: LengthQueue, m: SystemProperties): number {
  let size = 0;
  if (m.tag !== undefined) size += stringField(q, m.tag);
  for (const key of m.keys) size += stringField(q, key);
  if (m.messageId !== '') size += stringField(q, m.messageId);
  if (m.bodyDigest !== undefined) size += 1 + q.fill(q.reserve(), digestSize(q, m.bodyDigest));
  if (m.bodyEncoding !== 0) size += 1 + varint32Size(m.bodyEncoding);
  if (m.messageType !== 0) size += 1 + varint32Size(m.messageType);
  if (m.bornTimestamp !== undefined) size += 1 + q.fill(q.reserve(), secondsNanosSize(m.bornTimestamp));
  if (m.bornHost !== '') size += stringField(q, m.bornHost);
  if (m.storeTimestamp !== undefined) size += 1 + q.fill(q.reserve(), secondsNanosSize(m.storeTimestamp));
  if (m.storeHost !== '') size += stringField(q, m.storeHost);
  if (m.deliveryTimestamp !== undefined) size += 1 + q.fill(q.reserve(), secondsNanosSize(m.deliveryTimestamp));
  if (m.receiptHandle !== undefined) size += stringField(q, m.receiptHandle);
  if (m.queueId !== 0) size += 1 + varint32Size(m.queueId);
  if (m.queueOffset !== undefined) size += 1 + int64Size(m.queueOffset);
  if (m.invisibleDuration !== undefined) size += 1 + q.fill(q.reserve(), secondsNanosSize(m.invisibleDuration));
  // Field numbers 16 and up take two tag bytes.
  if (m.deliveryAttempt !== undefined) size += 2 + varint32Size(m.deliveryAttempt);
  if (m.messageGroup !== undefined) size += 1 + stringField(q, m.messageGroup);
  if (m.traceContext !== undefined) size += 1 + stringField(q, m.traceContext);
  if (m.orphanedTransactionRecoveryDuration !== undefined) size += 2 + q.fill(q.reserve(), secondsNanosSize(m.orphanedTransactionRecoveryDuration));
  if (m.deadLetterQueue !== undefined) size += 2 + q.fill(q.reserve(), deadLetterQueueSize(q, m.deadLetterQueue));
  if (m.liteTopic !== undefined) size += 1 + stringField(q, m.liteTopic);
  if (m.priority !== undefined) size += 2 + varint32Size(m.priority);
  return size + unknownFieldsSize(m.$unknown);
}

export function messageSize(q: LengthQueue, m: Message): number {
  let size = 0;
  if (m.topic !== undefined) size += 1 + q.fill(q.reserve(), resourceSize(q, m.topic));
  for (const key of Object.keys(m.userProperties)) {
    const slot = q.reserve();
    size += 1 + q.fill(slot, stringField(q, key) + stringField(q, m.userProperties[key]));
  }
  if (m.systemProperties !== undefined) size += 1 + q.fill(q.reserve(), systemPropertiesSize(q, m.systemProperties));
  if (m.body.byteLength !== 0) size += 1 + varint32Size(m.body.byteLength) + m.body.byteLength;
  return size + unknownFieldsSize(m.$unknown);
}

// ---- writing (same order as the sizes) ----

export function writeResource(w: WireWriter, m: Resource): void {
  if (m.resourceNamespace !== '') (w.uint32(0x0a), w.string(m.resourceNamespace));
  if (m.name !== '') (w.uint32(0x12), w.string(m.name));
  w.unknownFields(m.$unknown);
}

export function writeStatus(w: WireWriter, m: Status): void {
  if (m.code !== 0) (w.uint32(0x08), w.int32(m.code));
  if (m.message !== '') (w.uint32(0x12), w.string(m.message));
  w.unknownFields(m.$unknown);
}

function writeSecondsNanos(w: WireWriter, m: Timestamp | Duration): void {
  if (m.seconds !== 0n) (w.uint32(0x08), w.int64(m.seconds));
  if (m.nanos !== 0) (w.uint32(0x10), w.int32(m.nanos));
  w.unknownFields(m.$unknown);
}

function writeDigest(w: WireWriter, m: Digest): void {
  if (m.type !== 0) (w.uint32(0x08), w.int32(m.type));
  if (m.checksum !== '') (w.uint32(0x12), w.string(m.checksum));
  w.unknownFields(m.$unknown);
}

function writeDeadLetterQueue(w: WireWriter, m: DeadLetterQueue): void {
  if (m.topic !== '') (w.uint32(0x0a), w.string(m.topic));
  if (m.messageId !== '') (w.uint32(0x12), w.string(m.messageId));
  w.unknownFields(m.$unknown);
}

function writeSystemProperties(w: WireWriter, m: SystemProperties): void {
  if (m.tag !== undefined) (w.uint32(0x0a), w.string(m.tag));
  for (const key of m.keys) (w.uint32(0x12), w.string(key));
  if (m.messageId !== '') (w.uint32(0x1a), w.string(m.messageId));
  if (m.bodyDigest !== undefined) (w.uint32(0x22), w.length(), writeDigest(w, m.bodyDigest));
  if (m.bodyEncoding !== 0) (w.uint32(0x28), w.int32(m.bodyEncoding));
  if (m.messageType !== 0) (w.uint32(0x30), w.int32(m.messageType));
  if (m.bornTimestamp !== undefined) (w.uint32(0x3a), w.length(), writeSecondsNanos(w, m.bornTimestamp));
  if (m.bornHost !== '') (w.uint32(0x42), w.string(m.bornHost));
  if (m.storeTimestamp !== undefined) (w.uint32(0x4a), w.length(), writeSecondsNanos(w, m.storeTimestamp));
  if (m.storeHost !== '') (w.uint32(0x52), w.string(m.storeHost));
  if (m.deliveryTimestamp !== undefined) (w.uint32(0x5a), w.length(), writeSecondsNanos(w, m.deliveryTimestamp));
  if (m.receiptHandle !== undefined) (w.uint32(0x62), w.string(m.receiptHandle));
  if (m.queueId !== 0) (w.uint32(0x68), w.int32(m.queueId));
  if (m.queueOffset !== undefined) (w.uint32(0x70), w.int64(m.queueOffset));
  if (m.invisibleDuration !== undefined) (w.uint32(0x7a), w.length(), writeSecondsNanos(w, m.invisibleDuration));
  if (m.deliveryAttempt !== undefined) (w.uint32(16 << 3), w.int32(m.deliveryAttempt));
  if (m.messageGroup !== undefined) (w.uint32((17 << 3) | 2), w.string(m.messageGroup));
  if (m.traceContext !== undefined) (w.uint32((18 << 3) | 2), w.string(m.traceContext));
  if (m.orphanedTransactionRecoveryDuration !== undefined) (w.uint32((19 << 3) | 2), w.length(), writeSecondsNanos(w, m.orphanedTransactionRecoveryDuration));
  if (m.deadLetterQueue !== undefined) (w.uint32((20 << 3) | 2), w.length(), writeDeadLetterQueue(w, m.deadLetterQueue));
  if (m.liteTopic !== undefined) (w.uint32((21 << 3) | 2), w.string(m.liteTopic));
  if (m.priority !== undefined) (w.uint32(22 << 3), w.int32(m.priority));
  w.unknownFields(m.$unknown);
}

export function writeMessage(w: WireWriter, m: Message): void {
  if (m.topic !== undefined) (w.uint32(0x0a), w.length(), writeResource(w, m.topic));
  for (const key of Object.keys(m.userProperties)) {
    w.uint32(0x12);
    w.length();
    w.uint32(0x0a);
    w.string(key);
    w.uint32(0x12);
    w.string(m.userProperties[key]);
  }
  if (m.systemProperties !== undefined) (w.uint32(0x1a), w.length(), writeSystemProperties(w, m.systemProperties));
  if (m.body.byteLength !== 0) (w.uint32(0x22), w.bytes(m.body));
  w.unknownFields(m.$unknown);
}
