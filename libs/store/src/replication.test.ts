// The store's replication hooks: a slave appends what a master ships (its log bytes as its
// segment files hold them) and ends up byte for byte the same; bad bytes are refused whole; the
// log can be cut back to a record boundary (after a failover) and goes on from there.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { MessageStore, type AppendInput, type AppendResult } from './message-store';
import { BLANK_RECORD_BYTES_MIN, checkRecord, encodedSizeBytes } from './record';
import { STORE_LIMITS } from './limits';

const SEGMENT_BYTES = 4096;

function message(queueId: number, body: string): AppendInput {
  return { topic: 'R', queueId, tagHash: 7, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map([['id', body]]), body: Buffer.from(body) };
}

/**
 * The master's log from its start, as its segment files hold it, one buffer per segment: its
 * records, then the 8-byte header of its blank (the zeros written ahead of the end are not log bytes).
 */
function shippedSegments(dataDir: string): Buffer[] {
  const dir = join(dataDir, 'commitlog');
  return readdirSync(dir).sort().map((name, index) => {
    const segment = readFileSync(join(dir, name));
    let at = 0;
    for (let check = checkRecord(segment, 0, index * SEGMENT_BYTES); check.kind === 'record'; check = checkRecord(segment, at, index * SEGMENT_BYTES + at)) at += check.sizeBytes;
    return segment.subarray(0, at < segment.length && segment.readUInt32BE(at) !== 0 ? at + BLANK_RECORD_BYTES_MIN : at);
  });
}

/** The whole log as one shipped stretch. */
function shippedStretch(segments: Buffer[]): Buffer {
  return Buffer.concat(segments);
}

async function bodies(store: MessageStore, queueId: number): Promise<string[]> {
  const { records } = await store.read('R', queueId, 0, { countMax: 1000 });
  return records.map((record) => record.body.toString());
}

describe('MessageStore replication hooks', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let master: MessageStore;
  let slave: MessageStore;
  const open = (name: string) => MessageStore.open({ dataDir: join(temp.path, name), flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES });

  beforeEach(async () => {
    temp = makeTempDir('replication');
    master = await open('master');
    slave = await open('slave');
    // Sizes that cross segment boundaries, leave blanks and fill a segment exactly.
    for (let i = 0; i < 40; i++) await master.append([message(i % 3, `m${i}-${'x'.repeat((i * 97) % 700)}`)]);
  });

  afterEach(async () => {
    await master.close();
    await slave.close();
    temp.remove();
  });

  it('appends what the master shipped, segment by segment, and ends up byte for byte the same', async () => {
    let at = 0;
    const segments = shippedSegments(join(temp.path, 'master'));
    for (const [index, bytes] of segments.entries()) {
      await slave.appendReplicated(at, bytes);
      at = index + 1 < segments.length ? (index + 1) * SEGMENT_BYTES : at + bytes.length;
      // A stretch that ends a segment (with a blank) is confirmed to the segment's end.
      if (index + 1 < segments.length) expect(slave.stats()).toMatchObject({ confirmedLogOffset: at, dispatchLagBytes: 0 });
    }
    expect(slave.stats().confirmedLogOffset).toBe(master.stats().confirmedLogOffset);
    for (const queueId of [0, 1, 2]) {
      expect(slave.queueRange('R', queueId)).toEqual(master.queueRange('R', queueId));
      expect(await bodies(slave, queueId)).toEqual(await bodies(master, queueId));
    }
    expect(shippedSegments(join(temp.path, 'slave'))).toEqual(segments);
  });

  it('appends a stretch across segments (one ends exactly full) in one go, and indexes it like the master', async () => {
    const indexed = { messageId: 'id', keys: 'keys' };
    const openIndexed = (name: string) => MessageStore.open({ dataDir: join(temp.path, name), flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, indexedProperties: indexed });
    const source = await openIndexed('indexed-master');
    const copy = await openIndexed('indexed-slave');
    try {
      const keyed = (i: number, bodyBytes = 60): AppendInput => ({ ...message(i % 2, `k${i}`), properties: new Map([['other', 'x'], ['keys', `["key-${i % 5}"]`], ['id', `id-${i}`]]), body: Buffer.alloc(bodyBytes, i) });
      // Record 3 fills the first segment exactly: the next record follows it with no blank between.
      const fillBytes = SEGMENT_BYTES - [0, 1, 2].reduce((sum, i) => sum + encodedSizeBytes(keyed(i)), 0) - encodedSizeBytes(keyed(3, 0));
      for (let i = 0; i < 30; i++) await source.append([keyed(i, i === 3 ? fillBytes : 60)]);
      const segments = shippedSegments(join(temp.path, 'indexed-master'));
      expect(segments.length).toBeGreaterThan(2);
      expect((await source.read('R', 0, 2, { countMax: 1 })).records[0]).toMatchObject({ logOffset: SEGMENT_BYTES, queueOffset: 2 });
      await copy.appendReplicated(0, shippedStretch(segments));
      expect(shippedSegments(join(temp.path, 'indexed-slave'))).toEqual(segments);
      for (const queueId of [0, 1]) expect(copy.queueRange('R', queueId)).toEqual(source.queueRange('R', queueId));
      for (const i of [0, 3, 17, 29]) expect((await copy.findById(`id-${i}`)).map((record) => record.logOffset)).toEqual((await source.findById(`id-${i}`)).map((record) => record.logOffset));
      const byKey = (await copy.findByKey('R', 'key-2')).map((record) => record.logOffset);
      expect(byKey).toHaveLength(6);
      expect(byKey).toEqual((await source.findByKey('R', 'key-2')).map((record) => record.logOffset));
    } finally {
      await source.close();
      await copy.close();
    }
  });

  it('ships the newest records from memory byte for byte as the files hold them, a record longer than the bound read whole', async () => {
    const shipAll = async (store: MessageStore, sizeBytesMax: number): Promise<Buffer[]> => {
      const stretches: Buffer[] = [];
      for (let at = 0, step = 0; at < store.writtenLogOffset; step++) {
        expect(step).toBeLessThan(1000);
        const stretch = await store.readLog(at, store.writtenLogOffset, sizeBytesMax);
        expect(stretch.endLogOffset).toBeGreaterThan(at);
        stretches.push(Buffer.from(stretch.bytes));
        at = stretch.endLogOffset;
      }
      return stretches;
    };
    const files = () => shippedStretch(shippedSegments(join(temp.path, 'master')));
    const bounds = [300, 1_000, 1 << 20]; // 300: most records are longer than the bound
    for (const sizeBytesMax of bounds) expect(Buffer.concat(await shipAll(master, sizeBytesMax)).equals(files())).toBe(true);
    // Reopened: the older records come from the files, the ones appended now from memory.
    await master.close();
    master = await open('master');
    await master.append([message(0, 'after-reopen'), message(1, 'y'.repeat(900))]);
    for (const sizeBytesMax of bounds) expect(Buffer.concat(await shipAll(master, sizeBytesMax)).equals(files())).toBe(true);
  });

  it('ships from memory as a view when the caller uses it within the turn, as a copy of its own otherwise', async () => {
    const at = master.writtenLogOffset;
    await master.append([message(0, 'a'), message(1, 'b'), message(2, 'c')]);
    const kept = await master.readLog(at, master.writtenLogOffset, 1 << 20, 'kept');
    const turn = await master.readLog(at, master.writtenLogOffset, 1 << 20, 'turn');
    expect(turn.endLogOffset).toBe(master.writtenLogOffset);
    expect(kept.endLogOffset).toBe(turn.endLogOffset);
    expect(turn.bytes.equals(kept.bytes)).toBe(true);
    // The view lies in the append buffer's slab; the copy is memory of its own.
    expect(turn.bytes.buffer.byteLength).toBeGreaterThanOrEqual(STORE_LIMITS.appendSlabBytes);
    expect(kept.bytes.buffer).not.toBe(turn.bytes.buffer);
    expect(turn.viewOfMemory).toBe(true);
    expect(kept.viewOfMemory).toBeUndefined();
  });

  it('says a view of memory holds its bytes only while they are kept: later writes push them out and reuse their slab', async () => {
    const store = await MessageStore.open({ dataDir: join(temp.path, 'kept'), flushMode: 'async', segmentSizeBytes: 64 * 1024 * 1024 });
    try {
      await store.append([{ ...message(0, 'first'), properties: new Map() }]);
      expect((await store.readLog(0, store.writtenLogOffset, 1 << 20, 'turn')).viewOfMemory).toBe(true);
      expect(store.keepsInMemory(0)).toBe(true);
      const big = Buffer.alloc(1024 * 1024, 0x7a);
      for (let written = 0; written <= STORE_LIMITS.recentWritesBytesMax; written += big.length) await store.append([{ ...message(0, ''), properties: new Map(), body: big }]);
      expect(store.keepsInMemory(0)).toBe(false); // the shipper reads it again (log-shipper.ts)
      expect(store.keepsInMemory(store.writtenLogOffset - 100)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('refuses bytes with one flipped bit, or shipped from the wrong offset, and appends nothing', async () => {
    const [first] = shippedSegments(join(temp.path, 'master'));
    const damaged = Buffer.from(first);
    damaged[200] ^= 0x01;
    const crc = await slave.appendReplicated(0, damaged).catch((error: unknown) => error);
    expect(isRmqError(crc, 'BAD_REQUEST') && crc.message).toMatch(/replicated log bytes are not valid at log offset \d+: CRC mismatch/);
    const misplaced = await slave.appendReplicated(100, first).catch((error: unknown) => error);
    expect(isRmqError(misplaced, 'BAD_REQUEST') && misplaced.message).toMatch(/start at log offset 100, but this log ends at 0/);
    const torn = await slave.appendReplicated(0, first.subarray(0, 70)).catch((error: unknown) => error);
    expect(isRmqError(torn, 'BAD_REQUEST') && torn.message).toMatch(/the bytes end inside a record/);
    expect(slave.stats().logEndOffset).toBe(0);
    expect(slave.queueList()).toEqual([]);
  });

  it('cuts the log back to a record boundary, forgets what was after it, and goes on from there, also after a restart', async () => {
    const kept: AppendResult[] = [];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => master.append([message(0, `late-${i}`)])));
    kept.push(results[2][0]);
    const cutAt = results[3][0].logOffset;
    const countBefore = master.queueRange('R', 0).maxQueueOffset;
    await master.truncateTo(cutAt);
    expect(master.stats().confirmedLogOffset).toBe(cutAt);
    expect(master.queueRange('R', 0).maxQueueOffset).toBe(countBefore - 3);
    expect((await bodies(master, 0)).slice(-1)).toEqual(['late-2']);
    const [next] = await master.append([message(0, 'after-cut')]);
    expect(next).toMatchObject({ logOffset: cutAt, queueOffset: kept[0].queueOffset + 1 });

    await master.close();
    master = await open('master');
    expect((await bodies(master, 0)).slice(-2)).toEqual(['late-2', 'after-cut']);
    expect(master.queueRange('R', 0).maxQueueOffset).toBe(countBefore - 2);
  });

  it('refuses to cut anywhere but a record boundary inside the log', async () => {
    const [result] = await master.append([message(1, 'boundary')]);
    for (const logOffset of [result.logOffset + 1, master.stats().confirmedLogOffset + 10]) {
      const error = await master.truncateTo(logOffset).catch((caught: unknown) => caught);
      expect(isRmqError(error, 'BAD_REQUEST')).toBe(true);
    }
    expect((await bodies(master, 1)).at(-1)).toBe('boundary');
  });
});
