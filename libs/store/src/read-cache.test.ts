import { LogReadCache, type BlockSource } from './read-cache';

/** A log of `size` bytes (byte i = i mod 251) that counts its reads. */
function fakeLog(segmentSizeBytes: number, size: number): BlockSource & { reads: [number, number][]; generation: number } {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  return {
    segmentSizeBytes,
    generation: 0,
    reads: [],
    async readUpTo(logOffset, sizeBytes) {
      this.reads.push([logOffset, sizeBytes]);
      const segmentEnd = logOffset - (logOffset % segmentSizeBytes) + segmentSizeBytes;
      if (logOffset + sizeBytes > segmentEnd) throw new Error('a read across a segment boundary');
      return Buffer.from(bytes.subarray(logOffset, Math.min(logOffset + sizeBytes, size)));
    },
  };
}

const expected = (logOffset: number, sizeBytes: number) => Buffer.from(Array.from({ length: sizeBytes }, (_, i) => (logOffset + i) % 251));

describe('LogReadCache', () => {
  it('reads each block once for interleaved queues, slices within a block and copies across blocks', async () => {
    const log = fakeLog(1000, 3000);
    const cache = new LogReadCache(log, 100, 100);
    // Three "queues" interleaved every 30 bytes, read one after another.
    for (let queue = 0; queue < 3; queue++) {
      const ranges = Array.from({ length: 30 }, (_, i) => ({ logOffset: (3 * i + queue) * 30, sizeBytes: 30 })).filter((r) => r.logOffset + r.sizeBytes <= 2700);
      const loaded = await cache.load(ranges, 2700);
      for (const range of ranges) expect(cache.slice(loaded, range.logOffset, range.sizeBytes)).toEqual(expected(range.logOffset, range.sizeBytes));
    }
    expect(log.reads.length).toBe(27); // blocks 0..2600, each once
    expect(new Set(log.reads.map(([offset]) => offset)).size).toBe(27);
  });

  it('covers whole blocks only (not the tail still filling), never reads across a segment, and copies a record out of two blocks', async () => {
    const log = fakeLog(250, 1000);
    const cache = new LogReadCache(log, 100, 10);
    expect(cache.covers({ logOffset: 200, sizeBytes: 40 }, 240)).toBe(false); // block 200-250 is not whole yet
    expect(cache.covers({ logOffset: 200, sizeBytes: 40 }, 250)).toBe(true);
    expect(cache.covers({ logOffset: 0, sizeBytes: 101 }, 1000)).toBe(false); // larger than a block
    const loaded = await cache.load([{ logOffset: 220, sizeBytes: 60 }], 400); // [220, 280): block 200-250 (segment end) and 250-350
    expect(log.reads).toEqual([[200, 50], [250, 100]]);
    expect(cache.slice(loaded, 220, 60)).toEqual(expected(220, 60));
  });

  it('forgets everything when the log is cut back, and keeps at most blocksMax blocks', async () => {
    const log = fakeLog(10_000, 10_000);
    const cache = new LogReadCache(log, 100, 2);
    await cache.load([{ logOffset: 0, sizeBytes: 10 }], 10_000);
    await cache.load([{ logOffset: 0, sizeBytes: 10 }], 10_000);
    expect(log.reads.length).toBe(1);
    log.generation++;
    await cache.load([{ logOffset: 0, sizeBytes: 10 }], 10_000);
    expect(log.reads.length).toBe(2);
    await cache.load([{ logOffset: 100, sizeBytes: 10 }, { logOffset: 200, sizeBytes: 10 }], 10_000); // evicts block 0
    await cache.load([{ logOffset: 0, sizeBytes: 10 }], 10_000);
    expect(log.reads.length).toBe(5);
  });

  it('reads a block once for loads that want it at the same time (the queues of one receive), and forgets a failed read', async () => {
    const log = fakeLog(1000, 1000);
    const cache = new LogReadCache(log, 100, 10);
    // Eight "queues" interleaved within blocks 0 and 100, loaded at once.
    const ranges = Array.from({ length: 8 }, (_, queue) => [{ logOffset: queue * 10, sizeBytes: 10 }, { logOffset: 100 + queue * 10, sizeBytes: 10 }]);
    const all = await Promise.all(ranges.map((queueRanges) => cache.load(queueRanges, 1000)));
    expect(log.reads).toEqual([[0, 100], [100, 100]]);
    all.forEach((loaded, queue) => expect(cache.slice(loaded, 100 + queue * 10, 10)).toEqual(expected(100 + queue * 10, 10)));
    const failing: BlockSource = { ...fakeLog(1000, 1000), readUpTo: async () => Promise.reject(new Error('EIO')) };
    const failingCache = new LogReadCache(failing, 100, 10);
    const results = await Promise.allSettled([failingCache.load([{ logOffset: 0, sizeBytes: 10 }], 1000), failingCache.load([{ logOffset: 10, sizeBytes: 10 }], 1000)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    failing.readUpTo = async (logOffset: number, sizeBytes: number) => Buffer.alloc(sizeBytes, logOffset); // the disk is back: read again, not the failure
    expect((await failingCache.load([{ logOffset: 0, sizeBytes: 10 }], 1000)).get(0)?.length).toBe(100);
  });

  it('takes a block that ends early (a segment tail padded by a blank) and refuses a record past its end', async () => {
    const log = fakeLog(1000, 950); // the file of the first segment stops at 950
    const cache = new LogReadCache(log, 100, 10);
    const loaded = await cache.load([{ logOffset: 900, sizeBytes: 50 }], 5000);
    expect(cache.slice(loaded, 900, 50)).toEqual(expected(900, 50));
    await expect(cache.load([{ logOffset: 940, sizeBytes: 20 }], 5000)).rejects.toThrow('the commit log ends at 950');
  });
});
