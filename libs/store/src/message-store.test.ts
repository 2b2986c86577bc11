import { openSync, writeSync, closeSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { MessageStore, type AppendInput, type FlushMode } from './message-store';
import { tagHashOf } from './record';
import { segmentName } from './commit-log';

function message(topic: string, queueId: number, body: string, tag?: string): AppendInput {
  return {
    topic,
    queueId,
    tagHash: tagHashOf(tag),
    flags: 0,
    bornTimestampMs: 1_700_000_000_000,
    properties: new Map([['TAGS', tag ?? ''], ['KEYS', `k-${body}`]]),
    body: Buffer.from(body),
  };
}

describe.each<FlushMode>(['sync', 'async'])('MessageStore (%s)', (flushMode) => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store')));
  afterEach(() => temp.remove());

  it('gives consecutive queue offsets per queue and reads records back in order', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode });
    const results = await store.append([message('T', 0, 'a'), message('T', 1, 'b'), message('T', 0, 'c')]);
    expect(results.map((r) => r.queueOffset)).toEqual([0, 0, 1]);
    const { records, nextQueueOffset } = await store.read('T', 0, 0, { countMax: 10 });
    expect(records.map((r) => r.body.toString())).toEqual(['a', 'c']);
    expect(records[1].properties.get('KEYS')).toBe('k-c');
    expect(nextQueueOffset).toBe(2);
    expect(store.queueRange('T', 0)).toEqual({ minQueueOffset: 0, maxQueueOffset: 2 });
    await store.close();
  });

  it('keeps a shipped stretch and a record read from memory intact while held, and every record, however much is written after (slabs reused)', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode });
    const body = 'x'.repeat(16 * 1024 - 40);
    let batches = 0;
    /** 48 MiB more, more than is kept in memory: the slabs nobody read are reused meanwhile. */
    const writeBulk = async () => {
      for (let i = 0; i < 24; i++, batches++) await store.append(Array.from({ length: 128 }, (_, n) => message('Bulk', n % 4, `${batches}-${n}-${body}`)));
    };
    await store.append([message('Shipped', 0, 'shipped-body')]);
    const shipped = await store.readLog(0, store.writtenLogOffset, 1 << 20); // as a master ships it, from memory
    const shippedThen = Buffer.from(shipped.bytes);
    await writeBulk();
    expect(shipped.bytes.equals(shippedThen)).toBe(true);
    await store.append([message('Held', 0, 'held-body')]);
    const [held] = (await store.read('Held', 0, 0, { countMax: 1 })).records; // from memory: a view of its slab
    await writeBulk();
    expect(held.body.toString()).toBe('held-body');
    for (const queueId of [0, 3]) {
      const records = [];
      for (let next = 0, reads = 0; next < batches * 32 && reads < 200; reads++) {
        const read = await store.read('Bulk', queueId, next, { countMax: 1_000 });
        records.push(...read.records);
        next = read.nextQueueOffset;
      }
      expect(records.length).toBe(batches * 32);
      records.forEach((record, n) => expect(record.body.toString()).toBe(`${Math.floor(n / 32)}-${(n % 32) * 4 + queueId}-${body}`));
    }
    await store.close();
  });

  it('refuses a batch holding a record too large for a segment, whole, and goes on as if it never came', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode, segmentSizeBytes: 4096 });
    const refused = await store.append([message('T', 0, 'fits'), message('T', 0, 'x'.repeat(5000))]).catch((error: Error) => error);
    expect(String(refused)).toMatch(/a record of \d+ bytes does not fit in a commit log segment of 4096 bytes/);
    const [next] = await store.append([message('T', 0, 'after')]);
    expect(next).toMatchObject({ logOffset: 0, queueOffset: 0 });
    await store.close();
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode, segmentSizeBytes: 4096 });
    expect((await reopened.read('T', 0, 0, { countMax: 10 })).records.map((r) => r.body.toString())).toEqual(['after']);
    await reopened.close();
  });

  it('keeps every acknowledged record across a clean restart', async () => {
    let store = await MessageStore.open({ dataDir: temp.path, flushMode });
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.append([message('T', i % 3, `m${i}`)])));
    await store.close();
    store = await MessageStore.open({ dataDir: temp.path, flushMode });
    const bodies = [];
    for (const queueId of [0, 1, 2]) bodies.push(...(await store.read('T', queueId, 0, { countMax: 100 })).records.map((r) => r.body.toString()));
    expect(bodies.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`).sort());
    expect(store.stats().lastRecovery?.cleanShutdown).toBe(true);
    await store.close();
  });

  it('rolls to a new segment when a record does not fit, and reads across segments', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode, segmentSizeBytes: 4096 });
    for (let i = 0; i < 40; i++) await store.append([message('T', 0, 'x'.repeat(300) + i)]);
    expect(readdirSync(join(temp.path, 'commitlog')).length).toBeGreaterThan(3);
    const { records } = await store.read('T', 0, 0, { countMax: 100 });
    expect(records.map((r) => r.body.toString().slice(300))).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    await store.close();
  });

  it('skips records whose tag hash the filter rejects', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode });
    await store.append([message('T', 0, '1', 'A'), message('T', 0, '2', 'B'), message('T', 0, '3', 'A')]);
    const wanted = tagHashOf('A');
    const { records, nextQueueOffset } = await store.read('T', 0, 0, { countMax: 10, acceptTagHash: (hash) => hash === wanted });
    expect(records.map((r) => r.body.toString())).toEqual(['1', '3']);
    expect(nextQueueOffset).toBe(3);
    await store.close();
  });
});

describe('MessageStore recovery', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store-recovery')));
  afterEach(() => temp.remove());

  it('cuts a torn tail after an unclean stop and never shows the half-written record', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 60_000 });
    await store.append([message('T', 0, 'first'), message('T', 0, 'second')]);
    // Simulate a crash: no close(); then write garbage that looks like the start of a record at the
    // log's end (over the zeros written ahead of it).
    const segment = join(temp.path, 'commitlog', segmentName(0));
    const sizeBefore = store.stats().logEndOffset;
    const fd = openSync(segment, 'r+');
    writeSync(fd, Buffer.from([0, 0, 1, 0, 0x52, 0x4d, 0x51, 0x31, 9, 9]), 0, 10, sizeBefore);
    closeSync(fd);

    const events: unknown[] = [];
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', onEvent: (e) => events.push(e) });
    expect(statSync(segment).size).toBe(sizeBefore);
    const { records } = await reopened.read('T', 0, 0, { countMax: 10 });
    expect(records.map((r) => r.body.toString())).toEqual(['first', 'second']);
    expect(events[0]).toMatchObject({ kind: 'recovered', cleanShutdown: false, report: { truncated: { atLogOffset: sizeBefore } } });
    const next = await reopened.append([message('T', 0, 'third')]);
    expect(next[0].queueOffset).toBe(2);
    await reopened.close();
  });

  it('stops at a corrupted record in the middle after an unclean stop and reports where and why', async () => {
    // Unclean stop: the store is abandoned before its checkpoint moved past the records.
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 60_000 });
    const [, second] = await store.append([message('T', 0, 'one'), message('T', 0, 'two'), message('T', 0, 'three')]);
    const segment = join(temp.path, 'commitlog', segmentName(0));
    const fd = openSync(segment, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, second.logOffset + 70);
    closeSync(fd);
    const events: { kind: string; report?: { truncated?: { reason: string } } }[] = [];
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', onEvent: (e) => events.push(e as never) });
    expect(events[0].report?.truncated?.reason).toBe('CRC mismatch');
    const { records } = await reopened.read('T', 0, 0, { countMax: 10 });
    expect(records.map((r) => r.body.toString())).toEqual(['one']);
    await reopened.close();
  });
});
