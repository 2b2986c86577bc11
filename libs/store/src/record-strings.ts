// Strings in and out of records, for the cost per message: a record carries its topic and a few
// properties (message id, type, born host, digest, user properties), so encoding and decoding one
// means about nine short strings. Buffer's UTF-8 calls cost ~80 ns each for a 4-30 byte string;
// ASCII (nearly every key and value) is copied byte by byte for a third of that, and the short
// strings that repeat record after record (property keys, 'NORMAL', a host name) are decoded once
// and then recognised by their bytes, which also spares the garbage collector a string each.

/** Writes `text` as UTF-8 at `buf[at]`; the bytes written. The caller made room (utf8ByteLength). */
export function writeUtf8(buf: Buffer, at: number, text: string): number {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return buf.write(text, at); // not ASCII: the whole string the general way
    buf[at + i] = code;
  }
  return length;
}

/** Bytes of `text` in UTF-8. */
export function utf8ByteLength(text: string): number {
  const length = text.length;
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) > 0x7f) return Buffer.byteLength(text);
  return length;
}

/** Strings up to this many bytes are kept for reuse: keys and short values repeat; ids and digests are longer. */
const INTERNED_BYTES_MAX = 24;
const INTERNED_SLOTS = 512; // a power of two
const interned: (string | undefined)[] = new Array(INTERNED_SLOTS).fill(undefined);

/** The UTF-8 string in buf[start, end): for a short one, the same string as the last time these bytes were seen. */
export function readUtf8(buf: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > INTERNED_BYTES_MAX) return buf.toString('utf8', start, end);
  let hash = length;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buf[i]) | 0;
  const slot = hash & (INTERNED_SLOTS - 1);
  const known = interned[slot];
  if (known !== undefined && known.length === length && sameBytes(known, buf, start, length)) return known;
  const text = buf.toString('utf8', start, end);
  // Kept when one char per byte (ASCII; or bytes that are not UTF-8, each decoded to U+FFFD, which
  // sameBytes then never matches): sameBytes compares char codes with bytes.
  if (text.length === length) interned[slot] = text;
  return text;
}

function sameBytes(text: string, buf: Buffer, start: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
