// Short strings that repeat message after message (topic names, property keys, host names,
// 'NORMAL') recognised by their bytes: decoded once, then the same string every time. Decoding
// one is a native call (~80 ns) and a string for the garbage collector; hashing and comparing a
// few bytes costs less. Only ASCII strings are kept (one char per byte, so bytes and chars compare).

/** Strings up to this many bytes are kept: keys and short values repeat; ids and digests are longer. */
export const SHORT_STRING_BYTES_MAX = 24;
const SLOTS = 512; // a power of two
const kept: (string | undefined)[] = new Array(SLOTS).fill(undefined);

function slotOf(buf: Uint8Array, start: number, end: number): number {
  let hash = end - start;
  for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + buf[i]) | 0;
  return hash & (SLOTS - 1);
}

/** The string kept for the bytes buf[start, end), if these bytes were seen (and kept) before. */
export function knownShortString(buf: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length > SHORT_STRING_BYTES_MAX) return undefined;
  const known = kept[slotOf(buf, start, end)];
  if (known === undefined || known.length !== length) return undefined;
  for (let i = 0; i < length; i++) if (known.charCodeAt(i) !== buf[start + i]) return undefined;
  return known;
}

/**
 * Keeps `text`, decoded from buf[start, end), for knownShortString: only when short and one char
 * per byte (ASCII; bytes that are not UTF-8 decode to U+FFFD, which never compares equal to a byte).
 */
export function keepShortString(buf: Uint8Array, start: number, end: number, text: string): void {
  const length = end - start;
  if (length <= SHORT_STRING_BYTES_MAX && text.length === length) kept[slotOf(buf, start, end)] = text;
}
