// The message index: message id -> records and (topic, key) -> records, for query-by-id/key and
// for duplicate checks. In memory only, bounded by a record count (the oldest are forgotten
// first), fed in log order at confirm time and rebuilt at start from the newest part of the log.
// Invariants: entries are added with growing log offsets; an entry never outlives its segment.
import { assert } from '@rmq/base';
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

/**
 * What the index keeps of one record: its id and keys, taken from it at append time, and its
 * location, filled in when it is added. One object per indexed record, from reservation on.
 */
export class IndexKeys implements IndexLocation {
  topic = '';
  logOffset = 0;
  sizeBytes = 0;
  storeTimestampMs = 0;
  /** The next older entry with the same message id (ids repeat on retries and dead-lettering). */
  olderWithSameId: IndexKeys | undefined = undefined;

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

type Entry = IndexKeys;

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

export class MessageIndex {
  /** Newest entry per message id; older ones hang off olderWithSameId. */
  private readonly byId = new Map<string, Entry>();
  /** Entries per topic and key, oldest first. */
  private readonly byKey = new Map<string, Deque<Entry>>();
  /** Every entry, oldest first: eviction and retention take from the head. */
  private readonly all = new Deque<Entry>();
  private evictedCount = 0;

  constructor(readonly entryCountMax: number) {
    assert(Number.isInteger(entryCountMax) && entryCountMax >= 0, 'index entry count max must be a whole number', { entryCountMax });
  }

  get entryCount(): number {
    return this.all.length;
  }

  /** Entries forgotten because the index was full (not those dropped by retention). */
  get evictedEntryCount(): number {
    return this.evictedCount;
  }

  get lastLogOffset(): number {
    return this.all.last?.logOffset ?? -1;
  }

  /**
   * Adds a record's entry: `entry` (from indexKeysOf, added once) becomes the index's own, with
   * its location filled in; no object is made per record here.
   */
  add(entry: IndexKeys, topic: string, logOffset: number, sizeBytes: number, storeTimestampMs: number): void {
    if (this.entryCountMax === 0) return;
    if (logOffset <= this.lastLogOffset) assert(false, 'index entries must be added in log order', { logOffset, last: this.lastLogOffset });
    entry.topic = topic;
    entry.logOffset = logOffset;
    entry.sizeBytes = sizeBytes;
    entry.storeTimestampMs = storeTimestampMs;
    entry.olderWithSameId = undefined;
    if (entry.messageId !== undefined) {
      entry.olderWithSameId = this.byId.get(entry.messageId);
      this.byId.set(entry.messageId, entry);
    }
    if (entry.keys !== undefined) {
      for (const key of entry.keys) {
        const name = keyName(entry.topic, key);
        let list = this.byKey.get(name);
        if (!list) this.byKey.set(name, (list = new Deque()));
        if (list.last !== entry) list.push(entry); // a key listed twice on one record counts once
      }
    }
    this.all.push(entry);
    while (this.all.length > this.entryCountMax) {
      this.removeOldest();
      this.evictedCount++;
    }
  }

  /** Records with this id, newest first (usually one; more after retries or dead-lettering). */
  findById(messageId: string, options: { topic?: string; countMax?: number } = {}): IndexLocation[] {
    const countMax = options.countMax ?? Number.POSITIVE_INFINITY;
    const found: IndexLocation[] = [];
    for (let entry = this.byId.get(messageId); entry && found.length < countMax; entry = entry.olderWithSameId) {
      if (options.topic === undefined || entry.topic === options.topic) found.push(locationOf(entry));
    }
    return found;
  }

  /**
   * Records of a topic with this key stored within [beginMs, endMs], newest first, at most
   * countMax. Store timestamps are taken to grow with the log; if the clock stepped back, records
   * near the step may be missed.
   */
  findByKey(topic: string, key: string, query: KeyQuery & { countMax: number }): IndexLocation[] {
    const list = this.byKey.get(keyName(topic, key));
    if (!list) return [];
    const beginMs = query.beginMs ?? Number.NEGATIVE_INFINITY;
    const endMs = query.endMs ?? Number.POSITIVE_INFINITY;
    // The last entry stored at or before endMs, by binary search over the time-ordered list.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (list.at(middle).storeTimestampMs <= endMs) low = middle + 1;
      else high = middle;
    }
    const found: IndexLocation[] = [];
    for (let i = low - 1; i >= 0 && found.length < query.countMax; i--) {
      const entry = list.at(i);
      if (entry.storeTimestampMs < beginMs) break;
      found.push(locationOf(entry));
    }
    return found;
  }

  /** Retention: forgets every entry below `logOffset` (their segment is gone). Returns how many. */
  dropBelow(logOffset: number): number {
    let dropped = 0;
    while (this.all.length > 0 && this.all.first!.logOffset < logOffset) {
      this.removeOldest();
      dropped++;
    }
    return dropped;
  }

  private removeOldest(): void {
    const entry = this.all.shift()!;
    if (entry.messageId !== undefined) {
      // The oldest entry is the last of its id chain.
      let newer = this.byId.get(entry.messageId)!;
      if (newer === entry) this.byId.delete(entry.messageId);
      else {
        while (newer.olderWithSameId !== entry) newer = newer.olderWithSameId!;
        newer.olderWithSameId = undefined;
      }
    }
    for (const key of entry.keys ?? []) {
      const name = keyName(entry.topic, key);
      const list = this.byKey.get(name);
      if (list?.first !== entry) continue; // a key listed twice on one record was pushed once
      list.shift();
      if (list.length === 0) this.byKey.delete(name);
    }
  }
}

function keyName(topic: string, key: string): string {
  return `${topic}\u0000${key}`;
}

function locationOf(entry: Entry): IndexLocation {
  return { topic: entry.topic, logOffset: entry.logOffset, sizeBytes: entry.sizeBytes, storeTimestampMs: entry.storeTimestampMs };
}

/** An array with O(1) amortised removal at the head and indexed access (for binary search). */
class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  get first(): T | undefined {
    return this.items[this.head];
  }

  get last(): T | undefined {
    return this.length > 0 ? this.items[this.items.length - 1] : undefined;
  }

  at(index: number): T {
    return this.items[this.head + index];
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T; // let it be collected
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
