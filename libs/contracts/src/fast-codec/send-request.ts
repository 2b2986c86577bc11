// SendMessageRequest as the broker's send path reads it: each message's fields in arrays by message
// index, no apache.rocketmq.v2.Message tree (a Message, Resource, SystemProperties, Timestamp and its
// bigint, a properties object per message: most of a send's garbage). The bytes are read exactly as
// decodeMessage reads them (message-codec.ts: the same reads, so the same refusals), and the fields
// nobody on the send path uses are read and dropped. The request's bytes are kept: whoever wants the
// generated tree (a slave forwarding the send, the access guard) gets it from them, unknown fields
// and all (`messages`, `tree()`). send-request.test.ts checks both against the generated code.
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Message } from '../gen/apache/rocketmq/v2/definition_pb';
import type { SendMessageRequest } from '../gen/apache/rocketmq/v2/service_pb';
import { SendMessageRequestSchema } from '../gen/apache/rocketmq/v2/service_pb';
import { decodeStringEntry, decodeSystemPropertiesField, emptySystemProperties } from './message-codec';
import { WireReader } from './wire';

/** Bits of `SendRequestColumns.present`: which nested messages a message carried. */
export const SEND_FIELD = { systemProperties: 1, bornTimestamp: 2, deliveryTimestamp: 4, orphanedRecoveryDuration: 8 } as const;

const EMPTY_BODY = Buffer.alloc(0);
/** Shared by every message without keys: never written to. */
const NO_KEYS: string[] = Object.freeze([]) as unknown as string[];

export class SendRequestColumns {
  /** The generated type's name: a generic reader (toBinary, create) takes this as the request it stands for. */
  readonly $typeName = 'apache.rocketmq.v2.SendMessageRequest';
  count = 0;
  // Arrays of the request's message count (counted first): no growth, one allocation each.
  /** Topic.name ('' without a topic). */
  readonly topics: string[];
  readonly bodies: Buffer[];
  readonly present: number[];
  readonly messageIds: string[];
  readonly tags: (string | undefined)[];
  readonly keys: string[][];
  readonly bodyEncodings: number[];
  readonly messageTypes: number[];
  /** Timestamps and the duration in ms, as timestampMs / durationMs give them (when `present` says so). */
  readonly bornMs: number[];
  readonly bornHosts: string[];
  readonly deliveryMs: number[];
  readonly messageGroups: (string | undefined)[];
  readonly traceContexts: (string | undefined)[];
  readonly orphanedRecoveryMs: number[];
  /** map<string, string> user_properties as the generated code builds it; undefined for none. */
  readonly userProperties: (Record<string, string> | undefined)[];
  private decodedTree: SendMessageRequest | undefined;
  private whole: Buffer | undefined;

  /**
   * `source`: the encoded request, kept for `tree()`: one buffer, or the buffers it arrived in with
   * where it starts in the first and its length (joined on first use); `expected`: how many messages
   * it likely holds.
   */
  constructor(source: Buffer | RequestParts, expected = 0) {
    if (Buffer.isBuffer(source)) this.whole = source;
    else this.parts = source;
    this.topics = new Array(expected);
    this.bodies = new Array(expected);
    this.present = new Array(expected);
    this.messageIds = new Array(expected);
    this.tags = new Array(expected);
    this.keys = new Array(expected);
    this.bodyEncodings = new Array(expected);
    this.messageTypes = new Array(expected);
    this.bornMs = new Array(expected);
    this.bornHosts = new Array(expected);
    this.deliveryMs = new Array(expected);
    this.messageGroups = new Array(expected);
    this.traceContexts = new Array(expected);
    this.orphanedRecoveryMs = new Array(expected);
    this.userProperties = new Array(expected);
  }

  private readonly parts: RequestParts | undefined;

  /** The encoded request. */
  get bytes(): Buffer {
    return (this.whole ??= joined(this.parts!));
  }

  /** The request as the generated code decodes it (decoded on first use: forwarding, the access guard). */
  tree(): SendMessageRequest {
    return (this.decodedTree ??= fromBinary(SendMessageRequestSchema, this.bytes));
  }

  /** As SendMessageRequest.messages, for generic readers; the send path reads the columns. */
  get messages(): Message[] {
    return this.tree().messages;
  }

  get $unknown(): SendMessageRequest['$unknown'] {
    return this.tree().$unknown;
  }

  /** Sets the next message's fields to their zero values; returns its index. */
  add(): number {
    const i = this.count++;
    this.topics[i] = '';
    this.bodies[i] = EMPTY_BODY;
    this.present[i] = 0;
    this.messageIds[i] = '';
    this.tags[i] = undefined;
    this.keys[i] = NO_KEYS;
    this.bodyEncodings[i] = 0;
    this.messageTypes[i] = 0;
    this.bornMs[i] = 0;
    this.bornHosts[i] = '';
    this.deliveryMs[i] = 0;
    this.messageGroups[i] = undefined;
    this.traceContexts[i] = undefined;
    this.orphanedRecoveryMs[i] = 0;
    this.userProperties[i] = undefined;
    return i;
  }
}

/** A request in the buffers it arrived in: `length` bytes from `start` of the first. */
export interface RequestParts {
  chunks: readonly Buffer[];
  start: number;
  length: number;
}

function joined({ chunks, start, length }: RequestParts): Buffer {
  return Buffer.concat(chunks).subarray(start, start + length);
}

/** A Timestamp or Duration while its message is read (its fields may come in several pieces). */
class SecondsNanos {
  seconds = 0;
  nanos = 0;

  reset(): void {
    this.seconds = 0;
    this.nanos = 0;
  }

  /** timestampMs / durationMs of the bigint seconds Number() gives. */
  ms(): number {
    return this.seconds * 1000 + Math.floor(this.nanos / 1_000_000);
  }
}

// Decoding is synchronous: one message is read at a time.
const born = new SecondsNanos();
const delivery = new SecondsNanos();
const orphaned = new SecondsNanos();

export function decodeSendRequestColumns(bytes: Buffer): SendRequestColumns {
  const r = new WireReader(bytes);
  const columns = new SendRequestColumns(bytes, messageCountOf(bytes));
  while (r.pos < bytes.length) {
    r.tag();
    if (r.fieldNo === 1) decodeMessageInto(columns, columns.add(), r, r.nestedEnd());
    else r.unknown();
  }
  return columns;
}

/**
 * A request that arrived in several buffers (the fast path's HTTP/2 chunks), read without joining
 * them: each message is read where it lies, one that straddles two buffers is copied alone. Reads
 * depend only on a message's own bytes when they end exactly at its end; anything else (a message
 * whose reads overrun it, a field other than the messages, a refusal) sends the joined request
 * through decodeSendRequestColumns, whose answer is then the answer.
 */
export function decodeSendRequestChunks(parts: RequestParts): SendRequestColumns {
  const cursor = new ChunkCursor(parts);
  const columns = new SendRequestColumns(parts, cursor.messageCount());
  try {
    if (readMessages(cursor, columns)) return columns;
  } catch {
    // the joined request is decoded below: its refusal is the answer
  }
  return decodeSendRequestColumns(joined(parts));
}

/** False when the request is not just messages that each read to their end. */
function readMessages(cursor: ChunkCursor, columns: SendRequestColumns): boolean {
  while (cursor.left > 0) {
    if (cursor.byte() !== 0x0a) return false; // field 1, length-delimited: a message
    const length = cursor.varint();
    if (length < 0 || length > cursor.left) return false;
    const reader = cursor.take(length);
    const end = cursor.start + length;
    decodeMessageInto(columns, columns.add(), reader, end);
    if (reader.pos !== end) return false;
  }
  return true;
}

/** Reads across the buffers of RequestParts. */
class ChunkCursor {
  left: number;
  private index = 0;
  private pos: number;
  private readonly chunks: readonly Buffer[];
  private readonly readers: (WireReader | undefined)[] = [];

  constructor(parts: RequestParts) {
    this.chunks = parts.chunks;
    this.left = parts.length;
    // The start may lie past the first chunks (a first DATA frame shorter than the gRPC prefix):
    // carry the remainder, so every later move within a chunk can restart at 0.
    let pos = parts.start;
    while (this.index < this.chunks.length - 1 && pos >= this.chunks[this.index].length) {
      pos -= this.chunks[this.index].length;
      this.index++;
    }
    this.pos = pos;
  }

  byte(): number {
    while (this.pos >= this.chunks[this.index].length) {
      this.index++;
      this.pos = 0;
    }
    this.left--;
    return this.chunks[this.index][this.pos++];
  }

  /** A varint of up to 5 bytes whose value fits 32 bits; -1 otherwise. */
  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35 && this.left > 0; shift += 7) {
      const b = this.byte();
      // Below 2^28 the bits fit an int32; the fifth byte is added by multiplication (no sign).
      value = shift < 28 ? value | ((b & 0x7f) << shift) : value + (b & 0x7f) * 0x10000000;
      if (b < 0x80) return value <= 0xffffffff ? value : -1;
    }
    return -1;
  }

  /** Where take()'s bytes start in its reader's buffer. */
  start = 0;

  /** A reader at the next `length` bytes (from `start`), where they lie in one buffer, else copied into one; moves past them. */
  take(length: number): WireReader {
    while (this.index < this.chunks.length - 1 && this.pos >= this.chunks[this.index].length) {
      this.index++;
      this.pos = 0;
    }
    const chunk = this.chunks[this.index];
    let reader: WireReader;
    let start: number;
    if (chunk.length - this.pos >= length) {
      reader = (this.readers[this.index] ??= new WireReader(chunk));
      start = this.pos;
      this.pos += length;
    } else {
      const copy = Buffer.allocUnsafe(length);
      for (let copied = 0; copied < length;) {
        while (this.pos >= this.chunks[this.index].length) {
          this.index++;
          this.pos = 0;
        }
        const from = this.chunks[this.index];
        const n = Math.min(length - copied, from.length - this.pos);
        from.copy(copy, copied, this.pos, this.pos + n);
        copied += n;
        this.pos += n;
      }
      reader = new WireReader(copy);
      start = 0;
    }
    this.left -= length;
    reader.pos = start;
    this.start = start;
    return reader;
  }

  /** The messages ahead (field-1 entries up to the first other field), read without moving: for sizing the columns. */
  messageCount(): number {
    const saved = { index: this.index, pos: this.pos, left: this.left };
    let count = 0;
    while (this.left > 0 && this.byte() === 0x0a) {
      const length = this.varint();
      if (length < 0 || length > this.left) break;
      this.skip(length);
      count++;
    }
    this.index = saved.index;
    this.pos = saved.pos;
    this.left = saved.left;
    return count;
  }

  private skip(length: number): void {
    this.left -= length;
    let pos = this.pos + length;
    while (this.index < this.chunks.length - 1 && pos > this.chunks[this.index].length) {
      pos -= this.chunks[this.index].length;
      this.index++;
    }
    this.pos = pos;
  }
}

/** The number of field-1 entries (messages), for sizing the columns; malformed bytes end the count (the decode then refuses them). */
function messageCountOf(bytes: Buffer): number {
  let count = 0;
  let pos = 0;
  const end = bytes.length;
  while (pos < end && bytes[pos] === 0x0a) {
    let length = 0;
    let shift = 0;
    let b = 0x80;
    for (pos++; (b & 0x80) !== 0 && shift < 35 && pos < end; shift += 7) {
      b = bytes[pos++];
      length += (b & 0x7f) * 2 ** shift;
    }
    pos += length;
    if (pos > end) break;
    count++;
  }
  return count;
}

function decodeMessageInto(c: SendRequestColumns, i: number, r: WireReader, end: number): void {
  born.reset();
  delivery.reset();
  orphaned.reset();
  while (r.pos < end) {
    r.tag();
    switch (r.fieldNo) {
      case 1: decodeTopic(c, i, r, r.nestedEnd()); break;
      case 2: decodeStringEntry(r, r.nestedEnd(), (c.userProperties[i] ??= {})); break;
      case 3: decodeSystemPropertiesInto(c, i, r, r.nestedEnd()); break;
      case 4: c.bodies[i] = r.bytes(); break;
      default: r.unknown();
    }
  }
  const present = c.present[i];
  if ((present & SEND_FIELD.bornTimestamp) !== 0) c.bornMs[i] = born.ms();
  if ((present & SEND_FIELD.deliveryTimestamp) !== 0) c.deliveryMs[i] = delivery.ms();
  if ((present & SEND_FIELD.orphanedRecoveryDuration) !== 0) c.orphanedRecoveryMs[i] = orphaned.ms();
}

/** Resource: the name; the namespace is read (a bad string is refused alike) and dropped. */
function decodeTopic(c: SendRequestColumns, i: number, r: WireReader, end: number): void {
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) r.string();
    else if (r.fieldNo === 2) c.topics[i] = r.string();
    else r.unknown();
  }
}

/** Timestamp or Duration: int64 seconds = 1, int32 nanos = 2. */
function decodeSecondsNanos(into: SecondsNanos, r: WireReader, end: number): void {
  while (r.pos < end) {
    r.tag();
    if (r.fieldNo === 1) into.seconds = r.int64Number();
    else if (r.fieldNo === 2) into.nanos = r.int32();
    else r.unknown();
  }
}

function decodeSystemPropertiesInto(c: SendRequestColumns, i: number, r: WireReader, end: number): void {
  c.present[i] |= SEND_FIELD.systemProperties;
  while (r.pos < end) {
    r.tag();
    switch (r.fieldNo) {
      case 1: c.tags[i] = r.string(); break;
      case 2: {
        const key = r.string();
        if (c.keys[i] === NO_KEYS) c.keys[i] = [key];
        else c.keys[i].push(key);
        break;
      }
      case 3: c.messageIds[i] = r.string(); break;
      case 5: c.bodyEncodings[i] = r.int32(); break;
      case 6: c.messageTypes[i] = r.int32(); break;
      case 7:
        c.present[i] |= SEND_FIELD.bornTimestamp;
        decodeSecondsNanos(born, r, r.nestedEnd());
        break;
      case 8: c.bornHosts[i] = r.string(); break;
      case 11:
        c.present[i] |= SEND_FIELD.deliveryTimestamp;
        decodeSecondsNanos(delivery, r, r.nestedEnd());
        break;
      case 17: c.messageGroups[i] = r.string(); break;
      case 18: c.traceContexts[i] = r.string(); break;
      case 19:
        c.present[i] |= SEND_FIELD.orphanedRecoveryDuration;
        decodeSecondsNanos(orphaned, r, r.nestedEnd());
        break;
      case 13: r.int32(); break; // queue_id: the broker picks the queue
      // A field the send path does not use: read by the tree decoder (so the same bytes are refused
      // alike), into an object of its own that is dropped.
      default: decodeSystemPropertiesField(r, emptySystemProperties());
    }
  }
}

/** The columns of a request however it was decoded: the hot-path decoder's, or a generated tree's (encoded, then read). */
export function sendRequestColumns(request: SendMessageRequest | SendRequestColumns): SendRequestColumns {
  if (request instanceof SendRequestColumns) return request;
  return decodeSendRequestColumns(Buffer.from(toBinary(SendMessageRequestSchema, request)));
}
