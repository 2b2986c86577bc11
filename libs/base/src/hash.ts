// FNV-1a (32 bits) over a string's UTF-16 code units: a small, stable hash for choosing a queue
// or a broker by message group and for the tag hash in the queue index. Its values are on disk
// and decide where message groups go, so it never changes.

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
