// Strings in and out of records, for the cost per message: a record carries its topic and a few
// properties (message id, type, born host, digest, user properties), so encoding and decoding one
// means about nine short strings. Buffer's UTF-8 calls cost ~80 ns each for a 4-30 byte string;
// ASCII (nearly every key and value) is copied byte by byte for a third of that, and the short
// strings that repeat record after record (property keys, 'NORMAL', a host name) are decoded once
// and then recognised by their bytes (@rmq/base short-strings.ts), which also spares the garbage
// collector a string each.
import { keepShortString, knownShortString } from '@rmq/base';

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

/** The UTF-8 string in buf[start, end): for a short one, the same string as the last time these bytes were seen. */
export function readUtf8(buf: Buffer, start: number, end: number): string {
  const known = knownShortString(buf, start, end);
  if (known !== undefined) return known;
  const text = buf.toString('utf8', start, end);
  keepShortString(buf, start, end, text);
  return text;
}
