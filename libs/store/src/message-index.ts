// The message index: message id -> records and (topic, key) -> records, for query-by-id/key
// (an operator's FindMessages). In memory only, bounded by a record count (the oldest are forgotten
// first), fed in log order at confirm time and rebuilt at start from the newest part of the log.
// Invariants: entries are added with growing log offsets; an entry never outlives its segment.
import { assert, fnv1a32 } from '@rmq/base';
import { propertyOf, type RecordProperties } from './record';

/** Which record properties hold the message id and the keys (the messaging layer decides). */
export interface IndexedProperties {
  messageId: string;
  /** A JSON array of strings; any other value counts as one key. */
  keys: string;
}

/** Where an indexed record is in the log. */
export interface IndexLocation {
  topic: string;
  logOffset: number;
  sizeBytes: number;
  storeTimestampMs: number;
}

/** What the index keeps of one record besides its location; taken from it at append time. */
export class IndexKeys {
  constructor(
    readonly messageId: string | undefined,
    readonly keys: readonly string[] | undefined,
  ) {}
}

export interface KeyQuery {
  /** Inclusive bounds on the store timestamp; open when left out. */
  beginMs?: number;
  endMs?: number;
  countMax?: number;
}

/** The index keys of a record, or undefined when it has neither id nor keys (nothing to index). */
export function indexKeysOf(properties: RecordProperties, names: IndexedProperties): IndexKeys | undefined {
  const messageId = propertyOf(properties, names.messageId) || undefined;
  const keysValue = propertyOf(properties, names.keys);
  const keys = keysValue ? parseKeys(keysValue) : undefined;
  return messageId === undefined && keys === undefined ? undefined : new IndexKeys(messageId, keys);
}

function parseKeys(value: string): readonly string[] | undefined {
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((key) => typeof key === 'string')) {
        const keys = (parsed as string[]).filter((key) => key.length > 0);
        return keys.length > 0 ? keys : undefined;
      }
    } catch {
      // Not JSON: the value is one key, like any other string.
    }
  }
  return [value];
}

/**
 * Entries are kept in parallel arrays in log order, with no object and no hash table entry per
 * record: adding one (once per message produced) is a few array writes. Queries (an operator's
 * lookup by id or key) scan the entries newest first: a few milliseconds for the 500,000 kept by
 * default, against a Map insertion and deletion per message (decisions.md).
 */
export class MessageIndex {
  private topics: string[] = [];
  private logOffsets: number[] = [];
  private sizes: number[] = [];
  private storeTimestamps: number[] = [];
  private ids: (string | undefined)[] = [];
  /** FNV-1a of each id (0 without one): a scan compares numbers, and strings only where they match. */
  private idHashes: number[] = [];
  private keyLists: (readonly string[] | undefined)[] = [];
  /** Entries before this position are forgotten (their slots are cleared, and dropped now and then). */
  private head = 0;
  private evictedCount = 0;

  constructor(readonly entryCountMax: number) {
    assert(Number.isInteger(entryCountMax) && entryCountMax >= 0, 'index entry count max must be a whole number', { entryCountMax });
  }

  get entryCount(): number {
    return this.logOffsets.length - this.head;
  }

  /** Entries forgotten because the index was full (not those dropped by retention). */
  get evictedEntryCount(): number {
    return this.evictedCount;
  }

  get lastLogOffset(): number {
    return this.entryCount > 0 ? this.logOffsets[this.logOffsets.length - 1] : -1;
  }

  add(keys: IndexKeys, topic: string, logOffset: number, sizeBytes: number, storeTimestampMs: number): void {
    if (this.entryCountMax === 0) return;
    if (logOffset <= this.lastLogOffset) assert(false, 'index entries must be added in log order', { logOffset, last: this.lastLogOffset });
    this.topics.push(topic);
    this.logOffsets.push(logOffset);
    this.sizes.push(sizeBytes);
    this.storeTimestamps.push(storeTimestampMs);
    this.ids.push(keys.messageId);
    this.idHashes.push(keys.messageId === undefined ? 0 : fnv1a32(keys.messageId));
    this.keyLists.push(keys.keys);
    if (this.entryCount > this.entryCountMax) {
      const over = this.entryCount - this.entryCountMax;
      this.forgetOldest(over);
      this.evictedCount += over;
    }
  }

  /** Records with this id, newest first (usually one; more after retries or dead-lettering). */
  findById(messageId: string, options: { topic?: string; countMax?: number } = {}): IndexLocation[] {
    const countMax = options.countMax ?? Number.POSITIVE_INFINITY;
    const found: IndexLocation[] = [];
    const hash = fnv1a32(messageId);
    for (let i = this.logOffsets.length - 1; i >= this.head && found.length < countMax; i--) {
      if (this.idHashes[i] !== hash || this.ids[i] !== messageId) continue;
      if (options.topic === undefined || this.topics[i] === options.topic) found.push(this.locationAt(i));
    }
    return found;
  }

  /**
   * Records of a topic with this key stored within [beginMs, endMs], newest first, at most
   * countMax. Store timestamps are taken to grow with the log; if the clock stepped back, records
   * near the step may be missed.
   */
  findByKey(topic: string, key: string, query: KeyQuery & { countMax: number }): IndexLocation[] {
    const beginMs = query.beginMs ?? Number.NEGATIVE_INFINITY;
    const endMs = query.endMs ?? Number.POSITIVE_INFINITY;
    const found: IndexLocation[] = [];
    for (let i = this.logOffsets.length - 1; i >= this.head && found.length < query.countMax; i--) {
      const storeTimestampMs = this.storeTimestamps[i];
      if (storeTimestampMs > endMs) continue;
      if (storeTimestampMs < beginMs) break;
      // includes(): a key listed twice on one record counts once.
      if (this.topics[i] === topic && this.keyLists[i]?.includes(key)) found.push(this.locationAt(i));
    }
    return found;
  }

  /** Retention: forgets every entry below `logOffset` (their segment is gone). Returns how many. */
  dropBelow(logOffset: number): number {
    let dropped = 0;
    while (this.head + dropped < this.logOffsets.length && this.logOffsets[this.head + dropped] < logOffset) dropped++;
    this.forgetOldest(dropped);
    return dropped;
  }

  private locationAt(i: number): IndexLocation {
    return { topic: this.topics[i], logOffset: this.logOffsets[i], sizeBytes: this.sizes[i], storeTimestampMs: this.storeTimestamps[i] };
  }

  private forgetOldest(count: number): void {
    for (let i = this.head; i < this.head + count; i++) {
      this.ids[i] = undefined; // let the strings be collected before the arrays are cut
      this.keyLists[i] = undefined;
    }
    this.head += count;
    if (this.head >= 1024 && this.head * 2 >= this.logOffsets.length) {
      const from = this.head;
      this.topics = this.topics.slice(from);
      this.logOffsets = this.logOffsets.slice(from);
      this.sizes = this.sizes.slice(from);
      this.storeTimestamps = this.storeTimestamps.slice(from);
      this.ids = this.ids.slice(from);
      this.idHashes = this.idHashes.slice(from);
      this.keyLists = this.keyLists.slice(from);
      this.head = 0;
    }
  }
}
