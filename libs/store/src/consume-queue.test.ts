// The consume queue: entry n in the file starting at n - n % E, at byte (n % E) * 20; reads of
// consecutive entries from memory and from files; truncation by log offset; the persist/load
// round trip through real files, and what load refuses (a queue to rebuild).
import { readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { CONSUME_QUEUE_ENTRY_BYTES, ConsumeQueue, entryAt, type QueueEntry } from './consume-queue';
import { QueueFiles } from './queue-files';
import { FileHandlePool } from './file-handle-pool';

const NUM_RUNS = 40;
const ENTRIES_PER_FILE = 7;
const HOT = 3;

/** Entries with strictly growing log offsets, as the store appends them. */
const entries = (maxLength: number): fc.Arbitrary<QueueEntry[]> =>
  fc
    .array(
      fc.record({
        gapBytes: fc.integer({ min: 1, max: 1 << 20 }),
        sizeBytes: fc.integer({ min: 56, max: 0xffff_ffff }),
        tagHash: fc.integer({ min: 0, max: 0xffff_ffff }),
      }),
      { maxLength },
    )
    .map((steps) => {
      let logOffset = 0;
      return steps.map(({ gapBytes, sizeBytes, tagHash }) => {
        logOffset += gapBytes;
        return { logOffset, sizeBytes, tagHash };
      });
    });

/** Every readable entry, read as the store does: batches of consecutive entries. */
async function entriesOf(queue: ConsumeQueue, batch = 5): Promise<QueueEntry[]> {
  const all: QueueEntry[] = [];
  for (let next = queue.minQueueOffset; next < queue.count; ) {
    const { queueOffset, entries: bytes } = await queue.entriesFrom(next, batch);
    expect(queueOffset).toBe(next);
    expect(bytes.length).toBeGreaterThan(0);
    for (let at = 0; at < bytes.length; at += CONSUME_QUEUE_ENTRY_BYTES) all.push(entryAt(bytes, at));
    next += bytes.length / CONSUME_QUEUE_ENTRY_BYTES;
  }
  return all;
}

describe('ConsumeQueue', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let pool: FileHandlePool;
  let run = 0;
  beforeEach(() => {
    temp = makeTempDir('consume-queue');
    pool = new FileHandlePool(4);
  });
  afterEach(async () => {
    await pool.closeAll();
    temp.remove();
  });
  const filesAt = (name = `q-${run++}`) => new QueueFiles(join(temp.path, name), ENTRIES_PER_FILE, pool);
  const load = (files: QueueFiles, trustedCount: number) => ConsumeQueue.load('T', 0, files, HOT, trustedCount);

  it('gives queue offset n to the nth entry and reads them back, from memory and from files, across file boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(entries(60), fc.array(fc.nat(), { maxLength: 4 }), fc.integer({ min: 1, max: 9 }), async (list, persistPoints, batch) => {
        const queue = ConsumeQueue.empty('T', 0, filesAt(), HOT);
        const persistAfter = new Set(persistPoints.map((point) => point % (list.length + 1)));
        for (const [n, entry] of list.entries()) {
          if (persistAfter.has(n)) await queue.persist();
          expect(queue.append(entry)).toBe(n);
        }
        expect(queue.count).toBe(list.length);
        expect(await entriesOf(queue, batch)).toEqual(list);
        expect((await queue.entriesFrom(list.length, 10)).entries.length).toBe(0);
        await queue.close();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses an entry whose log offset does not grow', () => {
    const queue = ConsumeQueue.empty('T', 0, filesAt(), HOT);
    queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 0 });
    expect(() => queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 0 })).toThrow(/must grow/);
  });

  it('keeps exactly the entries below the log offset it is truncated from, in memory and in its files', async () => {
    await fc.assert(
      fc.asyncProperty(entries(60), fc.nat({ max: 70 << 20 }), fc.nat({ max: 60 }), async (list, cutLogOffset, persistedPart) => {
        const files = filesAt();
        const queue = ConsumeQueue.empty('T', 0, files, HOT);
        for (const [n, entry] of list.entries()) {
          if (n === persistedPart) await queue.persist();
          queue.append(entry);
        }
        await queue.truncateFromLogOffset(cutLogOffset);
        const kept = list.filter((entry) => entry.logOffset < cutLogOffset);
        expect(await entriesOf(queue)).toEqual(kept);
        // Offsets continue right after the kept entries, and the files agree after a reload.
        expect(queue.append({ logOffset: 2 ** 40, sizeBytes: 60, tagHash: 0 })).toBe(kept.length);
        await queue.close();
        const loaded = await load(files, kept.length + 1);
        expect(await entriesOf(loaded!)).toEqual([...kept, { logOffset: 2 ** 40, sizeBytes: 60, tagHash: 0 }]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('writes entry n at byte (n % E) * 20 of the file named by n - n % E, and loads the same entries back', async () => {
    await fc.assert(
      fc.asyncProperty(entries(40), fc.array(fc.nat(), { maxLength: 4 }), async (list, persistPoints) => {
        const files = filesAt();
        const queue = ConsumeQueue.empty('T', 0, files, HOT);
        const persistAfter = new Set(persistPoints.map((point) => point % (list.length + 1)));
        for (const [n, entry] of list.entries()) {
          if (persistAfter.has(n)) await queue.persist();
          queue.append(entry);
        }
        await queue.close();
        if (list.length === 0) return;
        const names = readdirSync(files.dir).sort();
        expect(names).toEqual(Array.from({ length: Math.ceil(list.length / ENTRIES_PER_FILE) }, (_, i) => String(i * ENTRIES_PER_FILE).padStart(20, '0')));
        list.forEach((entry, n) => {
          const bytes = readFileSync(files.pathOf(n - (n % ENTRIES_PER_FILE)));
          const at = (n % ENTRIES_PER_FILE) * CONSUME_QUEUE_ENTRY_BYTES;
          expect({ ...entryAt(bytes, at), reserved: bytes.readUInt32BE(at + 16) }).toEqual({ ...entry, reserved: 0 });
        });
        const loaded = await load(files, list.length);
        expect(loaded!.count).toBe(list.length);
        expect(await entriesOf(loaded!)).toEqual(list);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('drops loaded entries past what the checkpoint trusts, from the files too', async () => {
    await fc.assert(
      fc.asyncProperty(entries(40), fc.nat({ max: 40 }), async (list, trustedPart) => {
        const files = filesAt();
        const queue = ConsumeQueue.empty('T', 0, files, HOT);
        for (const entry of list) queue.append(entry);
        await queue.close();
        const trusted = Math.min(trustedPart, list.length);
        const loaded = await load(files, trusted);
        expect(await entriesOf(loaded!)).toEqual(list.slice(0, trusted));
        const reloaded = await load(files, trusted);
        expect(reloaded!.count).toBe(trusted);
        expect(await load(files, trusted + 1)).toBeUndefined(); // the files no longer hold more
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('loads an empty queue when there are no files and the checkpoint trusts none', async () => {
    expect((await load(filesAt('missing'), 0))!.count).toBe(0);
  });

  it.each([
    { damage: 'the files deleted', harm: (files: QueueFiles) => rmSync(files.dir, { recursive: true }) },
    { damage: 'the last file cut short', harm: (files: QueueFiles) => truncateSync(files.pathOf(14), 20) },
    { damage: 'a middle file missing', harm: (files: QueueFiles) => rmSync(files.pathOf(7)) },
    { damage: 'a middle file cut short', harm: (files: QueueFiles) => truncateSync(files.pathOf(7), 40) },
  ])('refuses to load (the queue is rebuilt) with $damage', async ({ harm }) => {
    const files = filesAt();
    const queue = ConsumeQueue.empty('T', 0, files, HOT);
    for (let n = 0; n < 18; n++) queue.append({ logOffset: 100 + n, sizeBytes: 60, tagHash: 0 });
    await queue.close();
    await pool.closeAll();
    harm(files);
    expect(await load(files, 18)).toBeUndefined();
  });

  it('holds only the hot tail and what is not yet persisted in memory', async () => {
    const queue = ConsumeQueue.empty('T', 0, filesAt(), HOT);
    for (let n = 0; n < 50; n++) queue.append({ logOffset: 100 + n, sizeBytes: 60, tagHash: n });
    expect(queue.cachedEntry(0)).toEqual({ logOffset: 100, sizeBytes: 60, tagHash: 0 }); // not persisted yet
    await queue.persist();
    expect(queue.cachedEntry(50 - HOT - 1)).toBeUndefined();
    expect(queue.cachedEntry(50 - HOT)).toEqual({ logOffset: 100 + 50 - HOT, sizeBytes: 60, tagHash: 50 - HOT });
    expect((await queue.entriesFrom(10, 2)).entries.length).toBe(2 * CONSUME_QUEUE_ENTRY_BYTES); // from the file
    await queue.close();
  });

  // An entry appended while a persist is writing is written by the next persist, not skipped.
  it('persists an entry appended while an earlier persist is still writing', async () => {
    const files = filesAt();
    const queue = ConsumeQueue.empty('T', 0, files, HOT);
    queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 1 });
    await queue.persist();
    queue.append({ logOffset: 200, sizeBytes: 60, tagHash: 2 });
    const inFlight = queue.persist();
    queue.append({ logOffset: 300, sizeBytes: 60, tagHash: 3 }); // confirmed during the write
    await inFlight;
    queue.append({ logOffset: 400, sizeBytes: 60, tagHash: 4 });
    await queue.close();
    const loaded = await load(files, 4);
    expect((await entriesOf(loaded!)).map((entry) => entry.logOffset)).toEqual([100, 200, 300, 400]);
    expect(statSync(files.pathOf(0)).size).toBe(4 * CONSUME_QUEUE_ENTRY_BYTES);
  });

  it('keeps at most the pool size of idle file handles open', async () => {
    const queues = Array.from({ length: 10 }, (_, queueId) => ConsumeQueue.empty('T', queueId, filesAt(), HOT));
    for (const queue of queues) for (let n = 0; n < 20; n++) queue.append({ logOffset: 100 + n, sizeBytes: 60, tagHash: 0 });
    for (const queue of queues) await queue.persist();
    expect(pool.openCount).toBeLessThanOrEqual(4);
    for (const queue of queues) expect((await entriesOf(queue)).length).toBe(20);
    expect(pool.openCount).toBeLessThanOrEqual(4);
  });
});
