// SendMessageResponse as the broker's send path answers it: the results' ids and offsets encoded as
// they are, without a SendResultEntry and a bigint offset per message. Every entry's status is OK (a
// send is answered whole or refused whole), so its bytes are made once. A generic reader (a test, the
// generated serializer) gets the entries as the generated code's objects (`entries`);
// send-request.test.ts checks the bytes against toBinary of those.
import type { Status } from '../gen/apache/rocketmq/v2/definition_pb';
import type { SendMessageResponse, SendResultEntry } from '../gen/apache/rocketmq/v2/service_pb';
import { okStatus } from '../status';
import { statusSize, writeStatus } from './message-codec';
import { LengthQueue, varint32Size, WireWriter, type ScratchBuffer } from './wire';

/** One stored message's result (the producer's SendResult has these fields). */
export interface SentMessage {
  messageId: string;
  queueOffset: number;
  /** TRANSACTION messages. */
  transactionId?: string;
  /** DELAY messages. */
  recallHandle?: string;
}

const ENTRY_OK: Status = Object.freeze(okStatus()) as Status;

export class SendMessageReply {
  /** The generated type's name: in-band.ts and the encoders take this as a complete reply. */
  readonly $typeName = 'apache.rocketmq.v2.SendMessageResponse';
  /** Set by in-band.ts (OK) before it is encoded. */
  status: Status | undefined = undefined;

  constructor(readonly results: readonly SentMessage[]) {}

  /** As SendMessageResponse.entries, for generic readers: each an OK entry. */
  get entries(): SendResultEntry[] {
    return this.results.map((result) => ({
      $typeName: 'apache.rocketmq.v2.SendResultEntry', status: ENTRY_OK, messageId: result.messageId, transactionId: result.transactionId ?? '',
      offset: BigInt(result.queueOffset), recallHandle: result.recallHandle ?? '',
    }));
  }

  get $unknown(): SendMessageResponse['$unknown'] {
    return undefined;
  }
}

export function isSendMessageReply(reply: unknown): reply is SendMessageReply {
  return reply instanceof SendMessageReply;
}

const lengths = new LengthQueue();
/** An OK entry status, encoded: tag, length, fields. */
const ENTRY_OK_FIELD = (() => {
  lengths.reset();
  const size = statusSize(lengths, ENTRY_OK);
  const w = new WireWriter(1 + varint32Size(size) + size, lengths);
  w.uint32(0x0a);
  w.uint32(size);
  writeStatus(w, ENTRY_OK);
  return w.buf;
})();

/** A non-negative safe integer's varint size. */
function uint53Size(value: number): number {
  if (value <= 0x7fffffff) return varint32Size(value);
  let size = 1;
  for (; value > 0x7f; size++) value = Math.floor(value / 128);
  return size;
}

function writeUint53(w: WireWriter, value: number): void {
  if (value <= 0x7fffffff) {
    w.uint32(value);
    return;
  }
  const buf = w.buf;
  while (value > 0x7f) {
    buf[w.pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[w.pos++] = value;
}

function entrySize(q: LengthQueue, m: SentMessage): number {
  let size = ENTRY_OK_FIELD.length;
  if (m.messageId !== '') size += 1 + q.string(m.messageId);
  if (m.transactionId !== undefined && m.transactionId !== '') size += 1 + q.string(m.transactionId);
  if (m.queueOffset !== 0) size += 1 + uint53Size(m.queueOffset);
  if (m.recallHandle !== undefined && m.recallHandle !== '') size += 1 + q.string(m.recallHandle);
  return size;
}

/** `scratch`: write into it instead of a new Buffer (the result is valid until its next use). */
export function encodeSendMessageReply(m: SendMessageReply, scratch?: ScratchBuffer): Buffer {
  const q = lengths;
  q.reset();
  const status = m.status;
  let size = status === undefined ? 0 : 1 + q.fill(q.reserve(), statusSize(q, status));
  const results = m.results;
  for (let i = 0; i < results.length; i++) size += 1 + q.fill(q.reserve(), entrySize(q, results[i]));
  const w = new WireWriter(size, q, scratch);
  if (status !== undefined) (w.uint32(0x0a), w.length(), writeStatus(w, status));
  for (let i = 0; i < results.length; i++) {
    const entry = results[i];
    w.uint32(0x12);
    w.length();
    w.buf.set(ENTRY_OK_FIELD, w.pos);
    w.pos += ENTRY_OK_FIELD.length;
    if (entry.messageId !== '') (w.uint32(0x12), w.string(entry.messageId));
    if (entry.transactionId !== undefined && entry.transactionId !== '') (w.uint32(0x1a), w.string(entry.transactionId));
    if (entry.queueOffset !== 0) (w.uint32(0x20), writeUint53(w, entry.queueOffset));
    if (entry.recallHandle !== undefined && entry.recallHandle !== '') (w.uint32(0x2a), w.string(entry.recallHandle));
  }
  return w.buf;
}
