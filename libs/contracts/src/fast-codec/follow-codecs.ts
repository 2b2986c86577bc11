// The Follow stream's messages on a slave that reads it over plain HTTP/2 (plain-bidi-call.ts):
// a FollowResponse decoded with its log bytes as a slice of the reply (no copy; the slave keeps
// them as its log's chunks), and a FollowRequest, a Progress report after each append, encoded
// without building its message objects. Checked against the generated code (follow-codecs.test.ts).
import type { FollowResponse } from '../gen/rmq/replication/v1/replication_pb';
import { WireReader } from './wire';

const EMPTY = new Uint8Array(0);

export function decodeFollowResponse(bytes: Buffer): FollowResponse {
  const r = new WireReader(bytes);
  const m: FollowResponse = { $typeName: 'rmq.replication.v1.FollowResponse', epoch: 0n, startLogOffset: 0n, data: EMPTY, committedLogOffset: 0n, logEndOffset: 0n };
  while (r.pos < bytes.length) {
    r.tag();
    // As the generated reader: a known field is read as its type says, whatever its wire type.
    switch (r.fieldNo) {
      case 1: m.epoch = r.int64(); break;
      case 2: m.startLogOffset = r.int64(); break;
      case 3: m.data = r.bytes(); break;
      case 4: m.committedLogOffset = r.int64(); break;
      case 5: m.logEndOffset = r.int64(); break;
      default: (m.$unknown ??= []).push(r.unknown());
    }
  }
  return m;
}

/** The bytes of FollowRequest { progress: { written_log_offset, durable_log_offset } } (offsets are safe integers, never negative). */
export function encodeFollowProgress(writtenLogOffset: number, durableLogOffset: number): Buffer {
  const inner = (writtenLogOffset === 0 ? 0 : 1 + varintSize(writtenLogOffset)) + (durableLogOffset === 0 ? 0 : 1 + varintSize(durableLogOffset));
  const bytes = Buffer.allocUnsafe(2 + inner);
  bytes[0] = 0x12; // field 2 (progress), length-delimited
  bytes[1] = inner; // at most 22: one byte
  let at = 2;
  if (writtenLogOffset !== 0) (bytes[at++] = 0x08, (at = writeVarint(bytes, at, writtenLogOffset)));
  if (durableLogOffset !== 0) (bytes[at++] = 0x10, (at = writeVarint(bytes, at, durableLogOffset)));
  return bytes;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(bytes: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    bytes[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[at++] = value;
  return at;
}
