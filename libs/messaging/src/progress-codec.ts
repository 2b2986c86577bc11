// Consumer progress changes in bytes (entry type 1 of binary change records; data-file.md): the
// per-message ones, admit, deliver and complete, and skip, renew and extend. Start, forget and
// restore stay JSON (once per queue, or in snapshots). Each entry: an op byte, the key (a varint
// index of a key defined earlier in the record, or the next index followed by the key itself),
// then the op's fields. The write functions take scalars, so the hot path builds no change
// object; decodeProgressChange builds one per entry (replay and slaves only).
import type { ByteReader, ByteWriter } from './state/byte-codec';
import type { ProgressChange, ProgressKey } from './consumer-progress';

export const PROGRESS_BINARY_TYPE = 1;

const OP_ADMIT = 1;
const OP_ADMIT_GROUP = 2; // an admit with a message group (FIFO)
const OP_DELIVER = 3;
const OP_SKIP = 4;
const OP_COMPLETE = 5;
const OP_RENEW = 6;
const OP_EXTEND = 7;

const KEY_GROUP = 0;
const KEY_MEMBER = 1; // a broadcast member's progress: the member id follows

/** Bytes an entry takes at most beyond its strings' 3 bytes per UTF-16 unit (op, key, numbers, lengths). */
const FIXED_BYTES_MAX = 96;

/** An upper bound of the bytes of an entry with these strings (key included). */
export function entryBytesMax(key: ProgressKey, ...strings: (string | undefined)[]): number {
  let units = key.g.length + key.t.length + (key.m?.length ?? 0);
  for (const text of strings) units += text?.length ?? 0;
  return FIXED_BYTES_MAX + 3 * units;
}

/** `token`: an object that stands for `key` (its queue state), so a key is written once per record. */
function writeKey(w: ByteWriter, key: ProgressKey, token: object): void {
  const index = w.ref(token);
  if (index !== undefined) {
    w.varint(index);
    return;
  }
  w.varint(w.refs.size - 1);
  w.string(key.g);
  w.string(key.t);
  w.varint(key.q);
  if (key.m === undefined) w.u8(KEY_GROUP);
  else {
    w.u8(KEY_MEMBER);
    w.string(key.m);
  }
}

export function writeAdmit(w: ByteWriter, key: ProgressKey, token: object, o: number, mg: string | undefined, d: string, v: number, a: number): void {
  w.u8(mg === undefined ? OP_ADMIT : OP_ADMIT_GROUP);
  writeKey(w, key, token);
  w.varint(o);
  w.string(d);
  w.varint(v);
  w.varint(a);
  if (mg !== undefined) w.string(mg);
}

export function writeDeliver(w: ByteWriter, key: ProgressKey, token: object, o: number, d: string, v: number, a: number): void {
  w.u8(OP_DELIVER);
  writeKey(w, key, token);
  w.varint(o);
  w.string(d);
  w.varint(v);
  w.varint(a);
}

export function writeSkip(w: ByteWriter, key: ProgressKey, token: object, to: number): void {
  w.u8(OP_SKIP);
  writeKey(w, key, token);
  w.varint(to);
}

export function writeComplete(w: ByteWriter, key: ProgressKey, token: object, o: number, d: string): void {
  w.u8(OP_COMPLETE);
  writeKey(w, key, token);
  w.varint(o);
  w.string(d);
}

export function writeRenew(w: ByteWriter, key: ProgressKey, token: object, o: number, old: string, d: string, v: number, a: number): void {
  w.u8(OP_RENEW);
  writeKey(w, key, token);
  w.varint(o);
  w.string(old);
  w.string(d);
  w.varint(v);
  w.varint(a);
}

export function writeExtend(w: ByteWriter, key: ProgressKey, token: object, o: number, d: string, v: number): void {
  w.u8(OP_EXTEND);
  writeKey(w, key, token);
  w.varint(o);
  w.string(d);
  w.varint(v);
}

/** Reads one entry written by the functions above (after its entry type byte). */
export function decodeProgressChange(r: ByteReader): ProgressChange {
  const op = r.u8();
  if (op < OP_ADMIT || op > OP_EXTEND) throw new Error(`a consumer progress change has the unknown op ${op}`);
  const { g, t, q, m } = readKey(r);
  switch (op) {
    case OP_ADMIT:
    case OP_ADMIT_GROUP: {
      const o = r.varint();
      const d = r.string();
      const v = r.varint();
      const a = r.varint();
      return op === OP_ADMIT ? { g, t, q, m, op: 'admit', o, d, v, a } : { g, t, q, m, op: 'admit', o, d, v, a, mg: r.string() };
    }
    case OP_DELIVER:
      return { g, t, q, m, op: 'deliver', o: r.varint(), d: r.string(), v: r.varint(), a: r.varint() };
    case OP_SKIP:
      return { g, t, q, m, op: 'skip', to: r.varint() };
    case OP_COMPLETE:
      return { g, t, q, m, op: 'complete', o: r.varint(), d: r.string() };
    case OP_RENEW:
      return { g, t, q, m, op: 'renew', o: r.varint(), old: r.string(), d: r.string(), v: r.varint(), a: r.varint() };
    default: // OP_EXTEND
      return { g, t, q, m, op: 'extend', o: r.varint(), d: r.string(), v: r.varint() };
  }
}

function readKey(r: ByteReader): ProgressKey {
  const index = r.varint();
  if (index < r.refs.length) return r.refs[index] as ProgressKey;
  if (index !== r.refs.length) throw new Error(`a consumer progress change refers to key ${index}, but the record defined ${r.refs.length} so far`);
  const g = r.string();
  const t = r.string();
  const q = r.varint();
  const kind = r.u8();
  if (kind !== KEY_GROUP && kind !== KEY_MEMBER) throw new Error(`a consumer progress key has the unknown kind ${kind}`);
  const key: ProgressKey = kind === KEY_GROUP ? { g, t, q } : { g, t, q, m: r.string() };
  r.refs.push(key);
  return key;
}
