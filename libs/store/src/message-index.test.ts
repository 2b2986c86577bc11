import { openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { segmentName } from './commit-log';
import { scanLog } from './log-scan';
import { IndexKeys, indexKeysOf, MessageIndex, type IndexLocation } from './message-index';
import { MessageStore, type AppendInput, type StoreEvent, type StoreOptions } from './message-store';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const NAMES = { messageId: 's.id', keys: 's.keys' };

function location(logOffset: number, storeTimestampMs = logOffset, topic = 'T'): IndexLocation {
  return { topic, logOffset, sizeBytes: 10, storeTimestampMs };
}

/** Adds an entry with these keys at this location (the write path's call, from a plain location). */
function addAt(index: MessageIndex, at: IndexLocation, keys: { messageId: string | undefined; keys: readonly string[] | undefined }): void {
  index.add(new IndexKeys(keys.messageId, keys.keys), at.topic, at.logOffset, at.sizeBytes, at.storeTimestampMs);
}

describe('indexKeysOf', () => {
  it('reads the id and a JSON array of keys from the named properties', () => {
    expect(indexKeysOf(new Map([['s.id', 'ID1'], ['s.keys', '["a","b"]']]), NAMES)).toMatchObject({ messageId: 'ID1', keys: ['a', 'b'] });
  });

  it('takes a value that is not a JSON array of strings as one key', () => {
    expect(indexKeysOf(new Map([['s.keys', 'order-1']]), NAMES)).toMatchObject({ messageId: undefined, keys: ['order-1'] });
    expect(indexKeysOf(new Map([['s.keys', '[1,2]']]), NAMES)?.keys).toEqual(['[1,2]']);
    expect(indexKeysOf(new Map([['s.keys', '[broken']]), NAMES)?.keys).toEqual(['[broken']);
  });

  it('gives nothing to index when neither property is set (or both are empty)', () => {
    expect(indexKeysOf(new Map([['other', 'x']]), NAMES)).toBeUndefined();
    expect(indexKeysOf(new Map([['s.id', ''], ['s.keys', '[]']]), NAMES)).toBeUndefined();
  });
});

describe('MessageIndex', () => {
  it('finds every record with an id, newest first, optionally within one topic', () => {
    const index = new MessageIndex(100);
    addAt(index, location(10), { messageId: 'A', keys: undefined });
    addAt(index, location(20), { messageId: 'B', keys: undefined });
    addAt(index, location(30, 30, '%DLQ%g'), { messageId: 'A', keys: undefined });
    expect(index.findById('A').map((found) => found.logOffset)).toEqual([30, 10]);
    expect(index.findById('A', { topic: 'T' })).toEqual([location(10)]);
    expect(index.findById('A', { countMax: 1 }).map((found) => found.logOffset)).toEqual([30]);
    expect(index.findById('missing')).toEqual([]);
  });

  it('finds records of a topic by key within a time window, newest first, at most countMax', () => {
    const index = new MessageIndex(100);
    for (let i = 1; i <= 10; i++) addAt(index, location(i * 10, i * 1000), { messageId: undefined, keys: i % 2 === 0 ? ['even', 'all'] : ['all'] });
    addAt(index, location(200, 20_000, 'Other'), { messageId: undefined, keys: ['all'] });
    const offsets = (found: IndexLocation[]) => found.map((entry) => entry.logOffset);
    expect(offsets(index.findByKey('T', 'all', { countMax: 100 }))).toEqual([100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
    expect(offsets(index.findByKey('T', 'all', { beginMs: 3000, endMs: 6000, countMax: 100 }))).toEqual([60, 50, 40, 30]);
    expect(offsets(index.findByKey('T', 'even', { beginMs: 3000, countMax: 2 }))).toEqual([100, 80]);
    expect(offsets(index.findByKey('Other', 'all', { countMax: 5 }))).toEqual([200]);
    expect(index.findByKey('T', 'all', { beginMs: 11_000, countMax: 5 })).toEqual([]);
  });

  it('counts a key listed twice on one record once', () => {
    const index = new MessageIndex(1);
    addAt(index, location(10), { messageId: undefined, keys: ['k', 'k'] });
    expect(index.findByKey('T', 'k', { countMax: 10 })).toHaveLength(1);
    addAt(index, location(20), { messageId: undefined, keys: ['other'] });
    expect(index.findByKey('T', 'k', { countMax: 10 })).toEqual([]);
  });

  it('forgets the oldest records first once it holds entryCountMax, and counts them', () => {
    const index = new MessageIndex(3);
    for (let i = 1; i <= 5; i++) addAt(index, location(i), { messageId: i % 2 === 0 ? 'even' : `odd${i}`, keys: ['k'] });
    expect(index.entryCount).toBe(3);
    expect(index.evictedEntryCount).toBe(2);
    expect(index.findById('odd1')).toEqual([]);
    expect(index.findById('even').map((found) => found.logOffset)).toEqual([4]);
    expect(index.findByKey('T', 'k', { countMax: 10 }).map((found) => found.logOffset)).toEqual([5, 4, 3]);
  });

  it('drops the entries below a log offset (their segment was deleted)', () => {
    const index = new MessageIndex(10);
    for (let i = 1; i <= 5; i++) addAt(index, location(i * 100), { messageId: `m${i}`, keys: ['k'] });
    expect(index.dropBelow(300)).toBe(2);
    expect(index.findById('m2')).toEqual([]);
    expect(index.findById('m3')).toHaveLength(1);
    expect(index.findByKey('T', 'k', { countMax: 10 })).toHaveLength(3);
    expect(index.evictedEntryCount).toBe(0);
  });

  it('refuses an entry that does not grow the log offset', () => {
    const index = new MessageIndex(10);
    addAt(index, location(100), { messageId: 'a', keys: undefined });
    expect(() => addAt(index, location(100), { messageId: 'b', keys: undefined })).toThrow(/log order/);
  });

  it('answers like a brute-force scan of the entries it should still hold', () => {
    const arbOp = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), id: fc.integer({ min: 0, max: 5 }), keys: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), topic: fc.constantFrom('T', 'U'), gapMs: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('drop' as const), back: fc.integer({ min: 0, max: 10 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(arbOp, { maxLength: 60 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 200 }), (entryCountMax, ops, beginMs, spanMs) => {
        const index = new MessageIndex(entryCountMax);
        type ModelEntry = IndexLocation & { id: string; keys: string[] };
        let model: ModelEntry[] = [];
        let logOffset = 0;
        let timeMs = 0;
        for (const op of ops) {
          if (op.kind === 'add') {
            logOffset += 10;
            timeMs += op.gapMs;
            const entry = { ...location(logOffset, timeMs, op.topic), id: `id${op.id}`, keys: op.keys.map((k) => `k${k}`) };
            addAt(index, entry, { messageId: entry.id, keys: entry.keys });
            model = [...model, entry].slice(-entryCountMax);
          } else {
            const below = logOffset - op.back * 10;
            index.dropBelow(below);
            model = model.filter((entry) => entry.logOffset >= below);
          }
        }
        const strip = (entry: ModelEntry): IndexLocation => ({ topic: entry.topic, logOffset: entry.logOffset, sizeBytes: entry.sizeBytes, storeTimestampMs: entry.storeTimestampMs });
        const newestFirst = [...model].reverse();
        expect(index.entryCount).toBe(model.length);
        for (let id = 0; id <= 5; id++) {
          expect(index.findById(`id${id}`)).toEqual(newestFirst.filter((entry) => entry.id === `id${id}`).map(strip));
          expect(index.findById(`id${id}`, { topic: 'U' })).toEqual(newestFirst.filter((entry) => entry.id === `id${id}` && entry.topic === 'U').map(strip));
        }
        for (const topic of ['T', 'U']) {
          for (let k = 0; k <= 3; k++) {
            const expected = newestFirst.filter((entry) => entry.topic === topic && entry.keys.includes(`k${k}`) && entry.storeTimestampMs >= beginMs && entry.storeTimestampMs <= beginMs + spanMs);
            expect(index.findByKey(topic, `k${k}`, { beginMs, endMs: beginMs + spanMs, countMax: 4 })).toEqual(expected.slice(0, 4).map(strip));
          }
        }
      }),
      { numRuns: 400, seed: FC_SEED },
    );
  });
});

function message(topic: string, id: string | undefined, keys: string[], body = 'b'): AppendInput {
  const properties = new Map<string, string>();
  if (id !== undefined) properties.set('s.id', id);
  if (keys.length > 0) properties.set('s.keys', JSON.stringify(keys));
  return { topic, queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties, body: Buffer.from(body) };
}

describe('MessageStore lookups by id and key', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let nowMs: number;
  beforeEach(() => {
    temp = makeTempDir('store-index');
    nowMs = 1_700_000_000_000;
  });
  afterEach(() => temp.remove());

  function open(options: Partial<StoreOptions> = {}): Promise<MessageStore> {
    return MessageStore.open({ dataDir: temp.path, flushMode: 'sync', indexedProperties: NAMES, clock: { nowMs: () => nowMs }, ...options });
  }

  it('finds a confirmed record by message id and by key within a time window, read back from the log', async () => {
    const store = await open();
    await store.append([message('T', 'ID-1', ['order-7'], 'first')]);
    nowMs += 1000;
    await store.append([message('T', 'ID-2', ['order-7', 'customer-3'], 'second'), message('U', 'ID-3', ['order-7'], 'other topic')]);
    const [byId] = await store.findById('ID-2');
    expect(byId.body.toString()).toBe('second');
    expect(byId.properties.get('s.id')).toBe('ID-2');
    expect(store.hasMessageId('ID-1')).toBe(true);
    expect(store.hasMessageId('ID-1', 'U')).toBe(false);
    expect(store.hasMessageId('nope')).toBe(false);
    const bodies = async (query: Parameters<MessageStore['findByKey']>[2]) => (await store.findByKey('T', 'order-7', query)).map((record) => record.body.toString());
    expect(await bodies({})).toEqual(['second', 'first']);
    expect(await bodies({ endMs: nowMs - 1 })).toEqual(['first']);
    expect(await bodies({ beginMs: nowMs })).toEqual(['second']);
    expect(await bodies({ countMax: 1 })).toEqual(['second']);
    expect((await store.findByKey('T', 'customer-3')).map((record) => record.body.toString())).toEqual(['second']);
    await store.close();
  });

  it('has no index, and finds nothing, when no indexed properties are configured', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    await store.append([message('T', 'ID-1', ['k'])]);
    expect(await store.findById('ID-1')).toEqual([]);
    expect(await store.findByKey('T', 'k')).toEqual([]);
    expect(store.stats().index).toBeUndefined();
    await store.close();
  });

  it('rebuilds the index from the log at start, after a clean stop and after a crash', async () => {
    const store = await open({ segmentSizeBytes: 4096, checkpointIntervalMs: 60_000 });
    for (let i = 0; i < 40; i++) await store.append([message('T', `ID-${i}`, [`k${i % 3}`], `m${i}-${'x'.repeat(300)}`)]);
    // Crash: abandoned without close (the checkpoint is still at the start).
    const events: StoreEvent[] = [];
    const crashed = await open({ segmentSizeBytes: 4096, onEvent: (event) => events.push(event) });
    expect((await crashed.findById('ID-0'))[0].body.toString()).toMatch(/^m0-/);
    expect((await crashed.findByKey('T', 'k1', { countMax: 100 })).length).toBe(13);
    expect(events.find((event) => event.kind === 'indexRebuilt')).toMatchObject({ entryCount: 40, report: { recordsScanned: 40, damagedSegments: [] } });
    await crashed.close();
    const clean = await open({ segmentSizeBytes: 4096 });
    expect((await clean.findById('ID-39'))[0].body.toString()).toMatch(/^m39-/);
    expect(clean.stats().index).toMatchObject({ entryCount: 40 });
    await clean.close();
  });

  it('rebuilds only from the segment holding (log end - indexRebuildScanBytesMax)', async () => {
    let store = await open({ segmentSizeBytes: 4096 });
    for (let i = 0; i < 40; i++) await store.append([message('T', `ID-${i}`, [], 'x'.repeat(300))]);
    const lastLogOffset = store.stats().confirmedLogOffset;
    await store.close();
    store = await open({ segmentSizeBytes: 4096, indexRebuildScanBytesMax: 1 });
    const lastSegmentStart = lastLogOffset - (lastLogOffset % 4096);
    expect(store.hasMessageId('ID-39')).toBe(true);
    expect(store.hasMessageId('ID-0')).toBe(false);
    const found = await Promise.all(Array.from({ length: 40 }, (_, i) => store.findById(`ID-${i}`)));
    expect(found.flat().every((record) => record.logOffset >= lastSegmentStart)).toBe(true);
    await store.close();
    store = await open({ segmentSizeBytes: 4096, indexRebuildScanBytesMax: 0 });
    expect(store.hasMessageId('ID-39')).toBe(false);
    await store.close();
  });

  it('forgets records whose segment retention deleted', async () => {
    let store = await open({ segmentSizeBytes: 4096, checkpointIntervalMs: 60_000 });
    for (let i = 0; i < 40; i++) await store.append([message('T', `ID-${i}`, ['k'], 'x'.repeat(300))]);
    await store.close(); // the checkpoint now covers everything, so retention may delete
    store = await open({ segmentSizeBytes: 4096, checkpointIntervalMs: 60_000 });
    nowMs += 100 * 60 * 60 * 1000;
    const realNow = Date.now;
    // Segment ages come from file times; move the store clock past the retention time instead.
    const aged = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', indexedProperties: NAMES, segmentSizeBytes: 4096, clock: { nowMs: () => realNow() + 100 * 60 * 60 * 1000 } }).catch((error: unknown) => error);
    expect(aged).toBeDefined();
    await store.close();
    if (aged instanceof MessageStore) {
      const minLogOffset = aged.stats().logMinOffset;
      expect(minLogOffset).toBeGreaterThan(0);
      expect(aged.hasMessageId('ID-0')).toBe(false);
      const all = await aged.findByKey('T', 'k', { countMax: 100 });
      expect(all.length).toBeGreaterThan(0);
      expect(all.every((record) => record.logOffset >= minLogOffset)).toBe(true);
      await aged.close();
    }
  });

  it('finds a record larger than one scan read when rebuilding', async () => {
    const store = await open();
    await store.append([message('T', 'small', []), message('T', 'big', [], 'y'.repeat(100_000)), message('T', 'after', [])]);
    await store.close();
    const seen: string[] = [];
    const reopened = await open();
    // Reach into the scanner with a tiny read size through a second open of the same log.
    const { CommitLog } = await import('./commit-log');
    const { log } = await CommitLog.open(join(temp.path, 'commitlog'), 256 * 1024 * 1024, Number.MAX_SAFE_INTEGER, () => undefined);
    const report = await scanLog(log, 0, log.endOffset, (record) => seen.push(record.properties.get('s.id') ?? ''), 4096);
    expect(seen).toEqual(['small', 'big', 'after']);
    expect(report.damagedSegments).toEqual([]);
    await log.close();
    expect((await reopened.findById('big'))[0].body.length).toBe(100_000);
    await reopened.close();
  });

  it('skips the rest of a segment with a damaged record when rebuilding, and says which', async () => {
    let store = await open({ segmentSizeBytes: 4096 });
    const results = [];
    for (let i = 0; i < 30; i++) results.push(...(await store.append([message('T', `ID-${i}`, [], 'x'.repeat(300))])));
    await store.close();
    // Old damage below the checkpoint: recovery does not rescan it, the index rebuild finds it.
    const victim = results.find((result) => result.logOffset > 4096 && result.logOffset < 8192)!;
    const fd = openSync(join(temp.path, 'commitlog', segmentName(4096)), 'r+');
    writeSync(fd, Buffer.from('Z'), 0, 1, victim.logOffset - 4096 + 100);
    closeSync(fd);
    const events: StoreEvent[] = [];
    store = await open({ segmentSizeBytes: 4096, onEvent: (event) => events.push(event) });
    expect(events.find((event) => event.kind === 'indexRebuilt')).toMatchObject({ report: { damagedSegments: [4096] } });
    expect(store.hasMessageId('ID-0')).toBe(true);
    expect(store.hasMessageId(`ID-${results.indexOf(victim)}`)).toBe(false);
    expect(store.hasMessageId('ID-29')).toBe(true);
    await store.close();
  });
});
