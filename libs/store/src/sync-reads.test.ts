// Reads of the log's newest bytes on the main thread (sync-reads.ts): which reads take that path,
// that they return the same records, and that a slow one sends the next reads to the thread pool.
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { nodeFileIo, type FileIo } from './file-io';
import { MessageStore, type AppendInput } from './message-store';
import { SyncReads } from './sync-reads';

function message(queueId: number, n: number): AppendInput {
  return { topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map([['s.id', `m-${queueId}-${n}`]]), body: Buffer.alloc(1000, n % 251) };
}

/** nodeFileIo, counting synchronous reads by file kind. */
function countingIo(): FileIo & { syncReads: { commitlog: number; consumequeue: number } } {
  const syncReads = { commitlog: 0, consumequeue: 0 };
  return {
    ...nodeFileIo,
    syncReads,
    readSync: (path, fd, buffer, offset, length, position) => {
      syncReads[path.includes('consumequeue') ? 'consumequeue' : 'commitlog']++;
      return nodeFileIo.readSync(path, fd, buffer, offset, length, position);
    },
  };
}

describe('SyncReads', () => {
  it('after a slow read sends the next reads to the thread pool, twice as many after each slow one in a row, fewer again after fast ones', () => {
    let nowMs = 0;
    const reads = new SyncReads({ windowBytes: 1, slowReadMs: 2, backoffReadsMin: 4, backoffReadsMax: 8 }, () => nowMs);
    const read = (durationMs: number) => reads.run(() => void (nowMs += durationMs));
    const allowedOf = (count: number) => Array.from({ length: count }, () => reads.allowed());
    expect(allowedOf(3)).toEqual([true, true, true]);
    read(1); // fast
    expect(reads.allowed()).toBe(true);
    read(5); // slow: 4 reads go async
    expect(allowedOf(5)).toEqual([false, false, false, false, true]);
    read(5); // slow again: 8
    expect(allowedOf(9)).toEqual([...Array(8).fill(false), true]);
    read(5); // still capped at 8
    expect(allowedOf(9)).toEqual([...Array(8).fill(false), true]);
    read(1); // fast: the backoff halves (4)...
    read(5); // ...so the next slow one doubles it back to 8
    expect(allowedOf(9)).toEqual([...Array(8).fill(false), true]);
    expect(reads.counts).toEqual({ sync: 6, slow: 4 });
    expect(new SyncReads({ windowBytes: 0, slowReadMs: 2, backoffReadsMin: 4, backoffReadsMax: 8 }).allowed()).toBe(false);
  });
});

describe('MessageStore reads of recent data', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store-sync-reads')));
  afterEach(() => temp.remove());

  /** 300 records over two queues, then a restart (nothing in memory), then queue 0 read back in reads of 32. */
  async function writeThenReadBack(options: { syncReadWindowBytes?: number }) {
    const dataDir = join(temp.path, String(options.syncReadWindowBytes));
    let store = await MessageStore.open({ dataDir, flushMode: 'async' });
    for (let n = 0; n < 150; n++) await store.append([message(0, n), message(1, n)]);
    await store.close();
    const io = countingIo();
    store = await MessageStore.open({ dataDir, flushMode: 'async', fileIo: io, ...options });
    const bodies: number[] = [];
    for (let from = 0; from < 150; ) {
      const { records, nextQueueOffset } = await store.read('T', 0, from, { countMax: 32 });
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        expect(record.properties.get('s.id')).toBe(`m-0-${record.queueOffset}`);
        bodies.push(record.body[0]);
      }
      from = nextQueueOffset;
    }
    await store.close();
    expect(bodies).toEqual(Array.from({ length: 150 }, (_, n) => n % 251));
    return io.syncReads;
  }

  it('reads log blocks and queue entries of the newest stretch on the main thread', async () => {
    const counts = await writeThenReadBack({});
    expect(counts.commitlog).toBeGreaterThan(0); // 256 KiB blocks of the read cache
    expect(counts.consumequeue).toBeGreaterThan(0); // every read of entries but the first (which tells where they point)
  });

  it('reads everything through the thread pool with a window of 0, or when the records lie before the window', async () => {
    expect(await writeThenReadBack({ syncReadWindowBytes: 0 })).toEqual({ commitlog: 0, consumequeue: 0 });
    // The log is about 310 KB: with a window of 1 KB no record read is recent.
    expect(await writeThenReadBack({ syncReadWindowBytes: 1024 })).toEqual({ commitlog: 0, consumequeue: 0 });
  });

  it('reports a failed synchronous read as the read failing', async () => {
    let store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async' });
    for (let n = 0; n < 150; n++) await store.append([message(0, n)]);
    await store.close();
    const io: FileIo = { ...nodeFileIo, readSync: () => { throw Object.assign(new Error('EIO: injected read failure'), { code: 'EIO' }); } };
    store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async', fileIo: io });
    await expect(store.read('T', 0, 0, { countMax: 32 })).rejects.toThrow(/EIO: injected read failure/);
    await store.close();
  });
});
