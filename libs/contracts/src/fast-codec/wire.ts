// Protobuf wire primitives for the hand-written hot-path codec: a reader over one Buffer (values
// are read in place; bytes fields come back as slices of it) and a writer into one Buffer sized
// in advance. Edge cases (over-long varints, bounds, field numbers) follow @bufbuild/protobuf's
// reader, so both decoders accept and refuse the same bytes.
import type { UnknownField } from '@bufbuild/protobuf';
import { keepShortString, knownShortString } from '@rmq/base';

export const WIRE_VARINT = 0;
export const WIRE_BIT64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_BIT32 = 5;

const GROUP_DEPTH_MAX = 100;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = Buffer.alloc(0);

/** Node's Buffer method behind toString('utf8', start, end), without its argument checks. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

export class WireReader {
  pos = 0;
  /** Set by `tag()`: the field number and wire type just read. */
  fieldNo = 0;
  wireType = 0;

  constructor(readonly buf: Buffer) {}

  /** A uint32 varint; longer varints (up to 10 bytes) keep their low 32 bits, as protobuf says. */
  uint32(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    let result = b & 0x7f;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x7f) << 7;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x7f) << 14;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x7f) << 21;
    if (b < 0x80) return this.checked(result);
    b = buf[this.pos++];
    result |= (b & 0x0f) << 28;
    for (let read = 5; (b & 0x80) !== 0 && read < 10; read++) b = buf[this.pos++];
    if ((b & 0x80) !== 0) throw new Error('invalid varint');
    return this.checked(result >>> 0);
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** An int64 varint as a bigint (the generated code's representation). */
  int64(): bigint {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = buf[this.pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.assertBounds();
        return BigInt(lo >>> 0);
      }
    }
    b = buf[this.pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; shift <= 31; shift += 7) {
        b = buf[this.pos++];
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
      if (b >= 0x80) throw new Error('invalid varint');
    }
    this.assertBounds();
    return hi === 0 ? BigInt(lo >>> 0) : BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  /** A bool varint: true when any of its 64 bits is set, as the generated reader decides it. */
  bool(): boolean {
    const buf = this.buf;
    let set = 0;
    let b = 0;
    for (let read = 0; read < 9; read++) {
      b = buf[this.pos++];
      set |= b & 0x7f;
      if (b < 0x80) {
        this.assertBounds();
        return set !== 0;
      }
    }
    b = buf[this.pos++];
    set |= b & 0x01; // the tenth byte holds bit 63 alone
    if (b >= 0x80) throw new Error('invalid varint');
    this.assertBounds();
    return set !== 0;
  }

  /**
   * The same varint as int64(), read alike (the same bytes are refused), as the number
   * Number(int64()) would give: no bigint (a born timestamp's seconds, per message sent).
   */
  int64Number(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = buf[this.pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.assertBounds();
        return lo >>> 0;
      }
    }
    b = buf[this.pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >> 4;
    if (b >= 0x80) {
      for (let shift = 3; shift <= 31; shift += 7) {
        b = buf[this.pos++];
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
      }
      if (b >= 0x80) throw new Error('invalid varint');
    }
    this.assertBounds();
    // hi * 2^32 is exact; adding lo rounds once, to nearest, as Number(bigint) does.
    return (hi | 0) * 4294967296 + (lo >>> 0);
  }

  /** Reads a tag into fieldNo / wireType. */
  tag(): void {
    const start = this.pos;
    const tag = this.uint32();
    const bytesRead = this.pos - start;
    if (bytesRead > 5 || (bytesRead === 5 && this.buf[this.pos - 1] > 0x0f)) throw new Error('illegal tag: varint overflows uint32');
    this.fieldNo = tag >>> 3;
    this.wireType = tag & 7;
    if (this.fieldNo <= 0 || this.wireType > 5) throw new Error(`illegal tag: field no ${this.fieldNo} wire type ${this.wireType}`);
  }

  /** A length-delimited value as a slice of the input (no copy). */
  bytes(): Buffer {
    const length = this.uint32();
    const start = this.pos;
    this.pos += length;
    this.assertBounds();
    return length === 0 ? EMPTY : this.buf.subarray(start, this.pos);
  }

  /** A UTF-8 string; invalid UTF-8 is refused, as the generated code does for proto3 strings. */
  string(): string {
    const length = this.uint32();
    const start = this.pos;
    this.pos += length;
    this.assertBounds();
    if (length === 0) return '';
    // A short ASCII string seen before (a topic, a host name, a property key) is not decoded again.
    const known = knownShortString(this.buf, start, this.pos);
    if (known !== undefined) return known;
    // utf8Slice is what toString('utf8', ...) calls after checking its arguments (checked here already): ~30 ns less per string.
    const text = (this.buf as Utf8Sliceable).utf8Slice(start, this.pos);
    // toString replaces bad sequences with U+FFFD; only then is the strict (slower) check needed.
    if (text.indexOf('\ufffd') !== -1) strictUtf8.decode(this.buf.subarray(start, this.pos));
    // The generated code decodes with a default TextDecoder, which drops a leading byte order mark.
    if (text.charCodeAt(0) === 0xfeff) return text.slice(1);
    keepShortString(this.buf, start, this.pos, text); // only ASCII is kept: valid UTF-8, no mark
    return text;
  }

  /** The end position of a length-delimited nested message that starts here. */
  nestedEnd(): number {
    const length = this.uint32();
    return this.pos + length;
  }

  /** Skips the value of the field just tagged and returns it as an unknown field (a slice). */
  unknown(): UnknownField {
    const start = this.pos;
    this.skip(this.wireType, this.fieldNo, GROUP_DEPTH_MAX);
    return { no: this.fieldNo, wireType: this.wireType, data: this.buf.subarray(start, this.pos) };
  }

  private skip(wireType: number, fieldNo: number, depthLeft: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        while (this.buf[this.pos++] & 0x80) {
          // continuation bytes
        }
        break;
      case WIRE_BIT64:
        this.pos += 8;
        break;
      case WIRE_BIT32:
        this.pos += 4;
        break;
      case WIRE_LENGTH_DELIMITED: {
        const length = this.uint32();
        this.pos += length;
        break;
      }
      case WIRE_START_GROUP:
        if (depthLeft <= 0) throw new Error('maximum recursion depth reached');
        for (;;) {
          this.tag();
          if (this.wireType === WIRE_END_GROUP) {
            if (this.fieldNo !== fieldNo) throw new Error('invalid end group tag');
            break;
          }
          this.skip(this.wireType, this.fieldNo, depthLeft - 1);
        }
        this.fieldNo = fieldNo;
        this.wireType = WIRE_START_GROUP;
        break;
      default:
        throw new Error(`cant skip wire type ${wireType}`);
    }
    this.assertBounds();
  }

  private checked(value: number): number {
    if (this.pos > this.buf.length) throw new RangeError('premature EOF');
    return value;
  }

  assertBounds(): void {
    if (this.pos > this.buf.length) throw new RangeError('premature EOF');
  }
}

// ---- sizes ----

export function varint32Size(value: number): number {
  if (value < 0) return 10; // a negative int32 is sign-extended to 64 bits
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

export function int64Size(value: bigint): number {
  if (value >= 0n && value < 0x80000000n) return varint32Size(Number(value));
  let unsigned = BigInt.asUintN(64, value);
  let size = 1;
  while (unsigned >= 0x80n) {
    unsigned >>= 7n;
    size++;
  }
  return size;
}

/** UTF-8 byte length, as TextEncoder / Buffer would write the string (lone surrogates as U+FFFD). */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for 2 code units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

export function unknownFieldsSize(unknown: readonly UnknownField[] | undefined): number {
  if (unknown === undefined) return 0;
  let size = 0;
  for (const field of unknown) size += varint32Size(((field.no << 3) | field.wireType) >>> 0) + field.data.byteLength;
  return size;
}

// ---- writing ----

/**
 * Writes into a Buffer allocated at the final size, or into the start of a scratch buffer (see
 * ScratchBuffer). Lengths of strings and nested messages are computed once, by the size pass, and
 * queued in the order the write pass needs them.
 */
export class WireWriter {
  pos = 0;
  readonly buf: Buffer;

  constructor(
    size: number,
    private readonly lengths: LengthQueue,
    scratch?: ScratchBuffer,
  ) {
    this.buf = scratch ? scratch.take(size) : Buffer.allocUnsafe(size);
  }

  /** A tag or any uint32 given as a non-negative number below 2^32. */
  uint32(value: number): void {
    const buf = this.buf;
    while (value > 0x7f) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.pos++] = value;
  }

  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.int64(BigInt(value));
  }

  int64(value: bigint): void {
    if (value >= 0n && value < 0x80000000n) {
      this.uint32(Number(value));
      return;
    }
    let lo = Number(BigInt.asUintN(32, value));
    let hi = Number(BigInt.asUintN(32, value >> 32n));
    const buf = this.buf;
    while (hi > 0 || lo > 0x7f) {
      buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[this.pos++] = lo;
  }

  /** The next queued length (of a string or nested message), as a varint. */
  length(): number {
    const length = this.lengths.next();
    this.uint32(length);
    return length;
  }

  /** A string whose byte length the size pass queued. */
  string(text: string): void {
    const length = this.length();
    if (length === text.length && length < 48) {
      // ASCII (byte length = code units): a loop beats the native call for short strings.
      const buf = this.buf;
      for (let i = 0; i < length; i++) buf[this.pos + i] = text.charCodeAt(i);
    } else {
      this.buf.write(text, this.pos, length, 'utf8');
    }
    this.pos += length;
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  unknownFields(unknown: readonly UnknownField[] | undefined): void {
    if (unknown === undefined) return;
    for (const field of unknown) {
      this.uint32(((field.no << 3) | field.wireType) >>> 0);
      this.buf.set(field.data, this.pos);
      this.pos += field.data.byteLength;
    }
  }
}

/** Lengths the size pass computes in the order the write pass consumes them. */
export class LengthQueue {
  private readonly values: number[] = [];
  private count = 0;
  private read = 0;

  reset(): void {
    this.count = 0;
    this.read = 0;
  }

  /** Queues a string's byte length and returns its field size (tag not included). */
  string(text: string): number {
    const length = text.length === 0 ? 0 : utf8Length(text);
    this.values[this.count++] = length;
    return varint32Size(length) + length;
  }

  /** Reserves the slot of a nested message whose size is known after its fields. */
  reserve(): number {
    return this.count++;
  }

  /** Fills a reserved slot and returns the nested field's size (tag not included). */
  fill(slot: number, length: number): number {
    this.values[slot] = length;
    return varint32Size(length) + length;
  }

  next(): number {
    return this.values[this.read++];
  }
}

/**
 * One reusable output buffer, for encodings whose bytes are copied before anything else is
 * encoded: grpc-js's server copies a serialized reply into its frame synchronously
 * (serializeMessage), so the reply need not have a Buffer of its own (an ArrayBuffer every few
 * frames, and the GC work that comes with it). Grows to the largest encoding asked for.
 */
export class ScratchBuffer {
  /** Allocated on the first take(): a subclass that takes its bytes elsewhere never allocates it. */
  private buf = Buffer.alloc(0);
  /** Where takeAt() hands out its bytes. */
  bytes: Buffer = this.buf;
  private takenSize = 0;

  /** The first `size` bytes of the scratch buffer; valid until the next take(). */
  take(size: number): Buffer {
    this.reserve(size);
    return this.buf.subarray(0, size);
  }

  /**
   * As take(), without a Buffer view per call (an object for the GC per delivered message): the
   * caller writes `size` bytes into `this.bytes` from the offset returned, then hands on written().
   */
  takeAt(size: number): number {
    this.reserve(size);
    this.bytes = this.buf;
    this.takenSize = size;
    return 0;
  }

  /** What takeAt()'s caller wrote, for whoever takes the encoding (a subclass may answer a marker it knows). */
  written(): Buffer {
    return this.buf.subarray(0, this.takenSize);
  }

  private reserve(size: number): void {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, 2 * this.buf.length, 64 * 1024));
  }
}
