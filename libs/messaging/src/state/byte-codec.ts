// Bytes of binary state records: unsigned LEB128 varints (any safe integer, 1 byte below 128),
// strings as a varint byte length + UTF-8, and references to keys defined earlier in the same
// record. Written per delivery and per ack, so the writer makes no object per value and writes
// ASCII strings byte by byte (no native utf8Write call per short string).

const VARINT_BYTES_MAX = 8; // 7 bits each: 2^53 - 1 needs 8

/**
 * A growing buffer of one record body. A value it cannot write exactly (a number that is not a
 * safe integer >= 0, a string with a lone surrogate) marks it `invalid` instead of throwing: the
 * caller then rolls the entry back and records the change another way.
 */
export class ByteWriter {
  private buf: Buffer;
  at = 0;
  invalid = false;
  /** Keys defined in this body so far: token (any object standing for the key) → index. */
  readonly refs = new Map<object, number>();
  private entryStart = 0;
  private entryRefs = 0;
  /** The token ref() was last asked for and its index (entries come in runs of one key: no Map lookup then). */
  private lastToken: object | undefined;
  private lastIndex = 0;

  constructor(initialBytes = 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** The bytes written so far (a view, not a copy: the writer is not used after this). */
  get bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** Empties the writer for another body, keeping its buffer (the bytes given out before are overwritten). */
  reset(): void {
    this.at = 0;
    this.invalid = false;
    this.refs.clear();
    this.entryStart = 0;
    this.entryRefs = 0;
    this.lastToken = undefined;
  }

  /** The buffer's size (what a reused writer holds on to). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Starts an entry: `rollback()` returns to here. */
  mark(): void {
    this.entryStart = this.at;
    this.entryRefs = this.refs.size;
    this.invalid = false;
  }

  /** Forgets everything written since `mark()`, the references it defined included. */
  rollback(): void {
    this.at = this.entryStart;
    this.invalid = false;
    this.lastToken = undefined;
    if (this.refs.size === this.entryRefs) return;
    for (const [token, index] of this.refs) if (index >= this.entryRefs) this.refs.delete(token);
  }

  u8(value: number): void {
    this.room(1);
    this.buf[this.at++] = value;
  }

  varint(value: number): void {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value))) {
      this.invalid = true;
      return;
    }
    this.room(VARINT_BYTES_MAX);
    const buf = this.buf;
    let at = this.at;
    // `& 0x7f` is exact above 2^31 too (ToInt32 keeps the low 32 bits of an integer).
    while (value > 0x7fffffff) {
      buf[at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 0x80);
    }
    while (value > 0x7f) {
      buf[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[at++] = value;
    this.at = at;
  }

  string(text: string): void {
    const length = text.length;
    this.room(VARINT_BYTES_MAX + 3 * length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const start = this.at;
    this.varint(length); // right if it is ASCII, which names and delivery ids are
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        this.at = start;
        this.utf8(text);
        return;
      }
      buf[at++] = code;
    }
    this.at = at;
  }

  /**
   * The index of the key `token` stands for, if this body defined it already; otherwise defines
   * the next index (the caller writes the key right after) and returns undefined.
   */
  ref(token: object): number | undefined {
    if (token === this.lastToken) return this.lastIndex;
    const index = this.refs.get(token);
    if (index !== undefined) {
      this.lastToken = token;
      this.lastIndex = index;
      return index;
    }
    this.refs.set(token, this.refs.size);
    return undefined;
  }

  private utf8(text: string): void {
    if (!isWellFormed(text)) {
      this.invalid = true;
      return;
    }
    this.varint(Buffer.byteLength(text, 'utf8'));
    this.at += this.buf.write(text, this.at, 'utf8');
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + bytes));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }
}

/** Reads what ByteWriter wrote; anything cut short or out of range throws. */
export class ByteReader {
  at: number;
  /** Keys defined so far in this body, by index (what each section stores there is its own). */
  readonly refs: unknown[] = [];

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.at = start;
  }

  get done(): boolean {
    return this.at >= this.end;
  }

  u8(): number {
    if (this.at >= this.end) throw new Error(`the record ends inside a value (at byte ${this.at})`);
    return this.buf[this.at++];
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) break;
        return value;
      }
      scale *= 0x80;
    }
    throw new Error(`a number at byte ${this.at} is larger than 2^53 - 1`);
  }

  string(): string {
    const length = this.varint();
    const start = this.at;
    if (length > this.end - start) throw new Error(`a string at byte ${start} runs past the end of the record`);
    this.at = start + length;
    return this.buf.toString('utf8', start, this.at);
  }
}

/** False when the string holds a lone surrogate (UTF-8 cannot carry it; JSON can). */
function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    if (code > 0xdbff) return false;
    const low = text.charCodeAt(i + 1);
    if (!(low >= 0xdc00 && low <= 0xdfff)) return false;
    i++;
  }
  return true;
}
