// The RPC messages every message passes through (SendMessage, ReceiveMessage, AckMessage, and
// the FollowResponse that ships it to slaves) with the hand-written codec; `HOT_PATH_CODECS` hands them to grpc-js in place of the generated
// serializers (grpc-adapter.ts), for these methods only and only in the directions a server uses.
import type { Status } from '../gen/apache/rocketmq/v2/definition_pb';
import type {
  AckMessageEntry,
  AckMessageRequest,
  AckMessageResponse,
  AckMessageResultEntry,
  ReceiveMessageResponse,
  SendMessageRequest,
  SendMessageResponse,
  SendResultEntry,
} from '../gen/apache/rocketmq/v2/service_pb';
import type { FollowResponse } from '../gen/rmq/replication/v1/replication_pb';
import { decodeMessage, decodeResource, messageSize, statusSize, writeMessage, writeStatus } from './message-codec';
import { decodeReceiveMessageRequest } from './receive-request-codec';
import { isSelfEncodingFrame, type SelfEncodingFrame } from './self-encoding-frame';
import { decodeSendRequestColumns } from './send-request';
import { encodeSendMessageReply, isSendMessageReply, type SendMessageReply } from './send-reply';
import { int64Size, LengthQueue, ScratchBuffer, unknownFieldsSize, varint32Size, WireReader, WireWriter } from './wire';

// One queue serves every encode: encoding is synchronous, so calls never interleave.
const lengths = new LengthQueue();

function withUnknown(message: { $unknown?: unknown[] }, reader: WireReader): void {
  (message.$unknown ??= []).push(reader.unknown());
}

export function decodeSendMessageRequest(bytes: Buffer): SendMessageRequest {
  const r = new WireReader(bytes);
  const m: SendMessageRequest = { $typeName: 'apache.rocketmq.v2.SendMessageRequest', messages: [] };
  while (r.pos < bytes.length) {
    r.tag();
    if (r.fieldNo === 1) m.messages.push(decodeMessage(r, r.nestedEnd()));
    else withUnknown(m, r);
  }
  return m;
}

function decodeAckEntry(r: WireReader, end: number): AckMessageEntry {
  const m: AckMessageEntry = { $typeName: 'apache.rocketmq.v2.AckMessageEntry', messageId: '', receiptHandle: '' };
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) m.messageId = r.string();
    else if (r.fieldNo === 2) m.receiptHandle = r.string();
    else if (r.fieldNo === 3) m.liteTopic = r.string();
    else withUnknown(m, r);
  }
  return m;
}

export function decodeAckMessageRequest(bytes: Buffer): AckMessageRequest {
  const r = new WireReader(bytes);
  const m: AckMessageRequest = { $typeName: 'apache.rocketmq.v2.AckMessageRequest', entries: [] };
  while (r.pos < bytes.length) {
    r.tag();
    if (r.fieldNo === 1) m.group = decodeResource(r, r.nestedEnd(), m.group);
    else if (r.fieldNo === 2) m.topic = decodeResource(r, r.nestedEnd(), m.topic);
    else if (r.fieldNo === 3) m.entries.push(decodeAckEntry(r, r.nestedEnd()));
    else withUnknown(m, r);
  }
  return m;
}

// ---- responses ----

function statusField(m: Status | undefined): number {
  return m === undefined ? 0 : 1 + lengths.fill(lengths.reserve(), statusSize(lengths, m));
}

function sendResultSize(m: SendResultEntry): number {
  let size = statusField(m.status);
  if (m.messageId !== '') size += 1 + lengths.string(m.messageId);
  if (m.transactionId !== '') size += 1 + lengths.string(m.transactionId);
  if (m.offset !== 0n) size += 1 + int64Size(m.offset);
  if (m.recallHandle !== '') size += 1 + lengths.string(m.recallHandle);
  return size + unknownFieldsSize(m.$unknown);
}

function writeSendResult(w: WireWriter, m: SendResultEntry): void {
  if (m.status !== undefined) (w.uint32(0x0a), w.length(), writeStatus(w, m.status));
  if (m.messageId !== '') (w.uint32(0x12), w.string(m.messageId));
  if (m.transactionId !== '') (w.uint32(0x1a), w.string(m.transactionId));
  if (m.offset !== 0n) (w.uint32(0x20), w.int64(m.offset));
  if (m.recallHandle !== '') (w.uint32(0x2a), w.string(m.recallHandle));
  w.unknownFields(m.$unknown);
}

/** `scratch`: write into it instead of a new Buffer (the result is valid until its next use). */
export function encodeSendMessageResponse(m: SendMessageResponse, scratch?: ScratchBuffer): Buffer {
  lengths.reset();
  let size = statusField(m.status);
  for (const entry of m.entries) size += 1 + lengths.fill(lengths.reserve(), sendResultSize(entry));
  size += unknownFieldsSize(m.$unknown);
  const w = new WireWriter(size, lengths, scratch);
  if (m.status !== undefined) (w.uint32(0x0a), w.length(), writeStatus(w, m.status));
  for (const entry of m.entries) (w.uint32(0x12), w.length(), writeSendResult(w, entry));
  w.unknownFields(m.$unknown);
  return w.buf;
}

function ackResultSize(m: AckMessageResultEntry): number {
  let size = 0;
  if (m.messageId !== '') size += 1 + lengths.string(m.messageId);
  if (m.receiptHandle !== '') size += 1 + lengths.string(m.receiptHandle);
  return size + statusField(m.status) + unknownFieldsSize(m.$unknown);
}

function writeAckResult(w: WireWriter, m: AckMessageResultEntry): void {
  if (m.messageId !== '') (w.uint32(0x0a), w.string(m.messageId));
  if (m.receiptHandle !== '') (w.uint32(0x12), w.string(m.receiptHandle));
  if (m.status !== undefined) (w.uint32(0x1a), w.length(), writeStatus(w, m.status));
  w.unknownFields(m.$unknown);
}

/** `scratch`: write into it instead of a new Buffer (the result is valid until its next use). */
export function encodeAckMessageResponse(m: AckMessageResponse, scratch?: ScratchBuffer): Buffer {
  lengths.reset();
  let size = statusField(m.status);
  for (const entry of m.entries) size += 1 + lengths.fill(lengths.reserve(), ackResultSize(entry));
  size += unknownFieldsSize(m.$unknown);
  const w = new WireWriter(size, lengths, scratch);
  if (m.status !== undefined) (w.uint32(0x0a), w.length(), writeStatus(w, m.status));
  for (const entry of m.entries) (w.uint32(0x12), w.length(), writeAckResult(w, entry));
  w.unknownFields(m.$unknown);
  return w.buf;
}

/** A ReceiveMessage reply in `scratch`: a delivered message the broker writes from its stored bytes encodes itself (self-encoding-frame.ts). */
export function encodeReceiveMessageResponseInto(m: ReceiveMessageResponse | SelfEncodingFrame, scratch: ScratchBuffer): Buffer {
  return isSelfEncodingFrame(m) ? m.encodeInto(scratch) : encodeReceiveMessageResponse(m, scratch);
}

/** `scratch`: write into it instead of a new Buffer (the result is valid until its next use). */
export function encodeReceiveMessageResponse(m: ReceiveMessageResponse, scratch?: ScratchBuffer): Buffer {
  lengths.reset();
  const content = m.content;
  let size = unknownFieldsSize(m.$unknown);
  switch (content.case) {
    case 'status': size += 1 + lengths.fill(lengths.reserve(), statusSize(lengths, content.value)); break;
    case 'message': size += 1 + lengths.fill(lengths.reserve(), messageSize(lengths, content.value)); break;
    case 'deliveryTimestamp': {
      const t = content.value;
      const inner = (t.seconds !== 0n ? 1 + int64Size(t.seconds) : 0) + (t.nanos !== 0 ? 1 + varint32Size(t.nanos) : 0) + unknownFieldsSize(t.$unknown);
      size += 1 + lengths.fill(lengths.reserve(), inner);
      break;
    }
  }
  const w = new WireWriter(size, lengths, scratch);
  switch (content.case) {
    case 'status': (w.uint32(0x0a), w.length(), writeStatus(w, content.value)); break;
    case 'message': (w.uint32(0x12), w.length(), writeMessage(w, content.value)); break;
    case 'deliveryTimestamp': {
      const t = content.value;
      w.uint32(0x1a);
      w.length();
      if (t.seconds !== 0n) (w.uint32(0x08), w.int64(t.seconds));
      if (t.nanos !== 0) (w.uint32(0x10), w.int32(t.nanos));
      w.unknownFields(t.$unknown);
      break;
    }
  }
  w.unknownFields(m.$unknown);
  return w.buf;
}

/**
 * rmq.replication.v1.FollowResponse: what a master ships to its slaves, a stretch of log bytes
 * and four offsets. The generated writer copies `data` into its chunks and then again into the
 * result; this writes it once.
 */
export function encodeFollowResponse(m: FollowResponse, scratch?: ScratchBuffer): Buffer {
  lengths.reset();
  let size = unknownFieldsSize(m.$unknown);
  if (m.epoch !== 0n) size += 1 + int64Size(m.epoch);
  if (m.startLogOffset !== 0n) size += 1 + int64Size(m.startLogOffset);
  if (m.data.byteLength !== 0) size += 1 + varint32Size(m.data.byteLength) + m.data.byteLength;
  if (m.committedLogOffset !== 0n) size += 1 + int64Size(m.committedLogOffset);
  if (m.logEndOffset !== 0n) size += 1 + int64Size(m.logEndOffset);
  const w = new WireWriter(size, lengths, scratch);
  if (m.epoch !== 0n) (w.uint32(0x08), w.int64(m.epoch));
  if (m.startLogOffset !== 0n) (w.uint32(0x10), w.int64(m.startLogOffset));
  if (m.data.byteLength !== 0) (w.uint32(0x1a), w.bytes(m.data));
  if (m.committedLogOffset !== 0n) (w.uint32(0x20), w.int64(m.committedLogOffset));
  if (m.logEndOffset !== 0n) (w.uint32(0x28), w.int64(m.logEndOffset));
  w.unknownFields(m.$unknown);
  return w.buf;
}

export interface MethodCodec {
  requestDeserialize?: (bytes: Buffer) => unknown;
  responseSerialize?: (message: never) => Buffer;
}

/**
 * Replies are encoded into one scratch buffer: grpc-js's server copies each serialized reply into
 * its own frame before it serializes anything else (server-interceptors.js, serializeMessage), so
 * the reply's bytes need not outlive the call. Only servers serialize responses.
 */
const replyScratch = new ScratchBuffer();

/** grpc-js method path -> the hand-written (de)serializers that replace the generated ones. */
export const HOT_PATH_CODECS: ReadonlyMap<string, MethodCodec> = new Map<string, MethodCodec>([
  ['/apache.rocketmq.v2.MessagingService/SendMessage', {
    // The send path reads the messages' fields by column (send-request.ts); a forwarding slave takes the tree from the bytes.
    requestDeserialize: decodeSendRequestColumns,
    // The broker's replies are encoded from the results (send-reply.ts); a forwarded master's reply is a tree.
    responseSerialize: (m: SendMessageResponse | SendMessageReply) => (isSendMessageReply(m) ? encodeSendMessageReply(m, replyScratch) : encodeSendMessageResponse(m, replyScratch)),
  }],
  ['/apache.rocketmq.v2.MessagingService/ReceiveMessage', {
    requestDeserialize: decodeReceiveMessageRequest,
    // A delivered message the broker writes from its stored bytes encodes itself (self-encoding-frame.ts).
    responseSerialize: (m: ReceiveMessageResponse | SelfEncodingFrame) => encodeReceiveMessageResponseInto(m, replyScratch),
  }],
  ['/rmq.replication.v1.ReplicationService/Follow', { responseSerialize: (m: FollowResponse) => encodeFollowResponse(m, replyScratch) }],
  ['/apache.rocketmq.v2.MessagingService/AckMessage', {
    requestDeserialize: decodeAckMessageRequest,
    responseSerialize: (m: AckMessageResponse) => encodeAckMessageResponse(m, replyScratch),
  }],
]);
