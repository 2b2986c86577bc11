// The consume queue's arithmetic (entry n at byte n * 20), truncation by log offset, and the
// persist/load round trip through a real file.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { CONSUME_QUEUE_ENTRY_BYTES, ConsumeQueue, type QueueEntry } from './consume-queue';

const NUM_RUNS = 100;

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

function entriesOf(queue: ConsumeQueue): QueueEntry[] {
  return Array.from({ length: queue.count }, (_, queueOffset) => queue.entry(queueOffset)!);
}

function entryInFile(bytes: Buffer, queueOffset: number): QueueEntry & { reserved: number } {
  const at = queueOffset * CONSUME_QUEUE_ENTRY_BYTES;
  return {
    logOffset: Number(bytes.readBigUInt64BE(at)),
    sizeBytes: bytes.readUInt32BE(at + 8),
    tagHash: bytes.readUInt32BE(at + 12),
    reserved: bytes.readUInt32BE(at + 16),
  };
}

describe('ConsumeQueue', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('consume-queue')));
  afterEach(() => temp.remove());

  it('returns queue offset n for the nth entry and reads it back; nothing outside [0, count)', () => {
    fc.assert(
      fc.property(entries(300), (list) => {
        const queue = ConsumeQueue.empty('T', 0, join(temp.path, 'unused'));
        list.forEach((entry, n) => expect(queue.append(entry)).toBe(n));
        expect(queue.count).toBe(list.length);
        expect(entriesOf(queue)).toEqual(list);
        expect(queue.entry(-1)).toBeUndefined();
        expect(queue.entry(list.length)).toBeUndefined();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses an entry whose log offset does not grow', () => {
    const queue = ConsumeQueue.empty('T', 0, join(temp.path, 'unused'));
    queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 0 });
    expect(() => queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 0 })).toThrow(/must grow/);
  });

  it('keeps exactly the entries below the log offset it is truncated from', () => {
    fc.assert(
      fc.property(entries(200), fc.nat({ max: 300 << 20 }), (list, cutLogOffset) => {
        const queue = ConsumeQueue.empty('T', 0, join(temp.path, 'unused'));
        for (const entry of list) queue.append(entry);
        queue.truncateFromLogOffset(cutLogOffset);
        const kept = list.filter((entry) => entry.logOffset < cutLogOffset);
        expect(entriesOf(queue)).toEqual(kept);
        // Offsets continue right after the kept entries.
        expect(queue.append({ logOffset: Number.MAX_SAFE_INTEGER, sizeBytes: 60, tagHash: 0 })).toBe(kept.length);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('writes entry n at byte n * 20 of its file and loads the same entries back, over several persists', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(entries(300), fc.array(fc.nat(), { maxLength: 4 }), async (list, cutPoints) => {
        const path = join(temp.path, `q-${run++}`, '0');
        const queue = ConsumeQueue.empty('T', 0, path);
        // Persist at a few points in the middle too: later persists append to the file.
        const persistAfter = new Set(cutPoints.map((point) => point % (list.length + 1)));
        for (const [n, entry] of list.entries()) {
          if (persistAfter.has(n)) await queue.persist();
          queue.append(entry);
        }
        await queue.close();
        if (list.length === 0) return;
        const bytes = readFileSync(path);
        expect(statSync(path).size).toBe(list.length * CONSUME_QUEUE_ENTRY_BYTES);
        list.forEach((entry, n) => expect(entryInFile(bytes, n)).toEqual({ ...entry, reserved: 0 }));
        const loaded = await ConsumeQueue.load('T', 0, path, Number.MAX_SAFE_INTEGER);
        expect(entriesOf(loaded)).toEqual(list);
      }),
      { numRuns: 40 },
    );
  });

  it('drops loaded entries at or beyond the log end it is given (records not yet dispatched)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(entries(100), fc.nat({ max: 120 << 20 }), async (list, logEndOffset) => {
        const path = join(temp.path, `q-${run++}`, '0');
        const queue = ConsumeQueue.empty('T', 0, path);
        for (const entry of list) queue.append(entry);
        await queue.close();
        const loaded = await ConsumeQueue.load('T', 0, path, logEndOffset);
        expect(entriesOf(loaded)).toEqual(list.filter((entry) => entry.logOffset < logEndOffset));
      }),
      { numRuns: 40 },
    );
  });

  it('loads an empty queue when the file does not exist', async () => {
    const loaded = await ConsumeQueue.load('T', 0, join(temp.path, 'missing', '0'), 1000);
    expect(loaded.count).toBe(0);
  });

  // KNOWN BUG (it.failing until fixed): persist() sets persistedCount = this.countValue after its
  // awaits, so an entry appended while the write + fdatasync are in flight is counted as written
  // but never is. The next persist() writes after it, leaving a 20-byte hole of zeros in the file:
  // after a restart, that queue offset points at log offset 0 with size 0. The store's checkpoint
  // timer calls persist() while appends are being confirmed, so this happens in normal running.
  it('persists an entry appended while an earlier persist is still writing', async () => {
    const path = join(temp.path, 'q', '0');
    const queue = ConsumeQueue.empty('T', 0, path);
    queue.append({ logOffset: 100, sizeBytes: 60, tagHash: 1 });
    await queue.persist(); // opens the file
    queue.append({ logOffset: 200, sizeBytes: 60, tagHash: 2 });
    const inFlight = queue.persist();
    queue.append({ logOffset: 300, sizeBytes: 60, tagHash: 3 }); // confirmed during the write
    await inFlight;
    queue.append({ logOffset: 400, sizeBytes: 60, tagHash: 4 });
    await queue.close();
    const loaded = await ConsumeQueue.load('T', 0, path, Number.MAX_SAFE_INTEGER);
    expect(entriesOf(loaded).map((entry) => entry.logOffset)).toEqual([100, 200, 300, 400]);
  });
});
