import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isRmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { segmentName } from './commit-log';
import { MessageStore, type AppendInput, type StoreEvent, type StoreOptions } from './message-store';
import { decideRetention, type DiskUsage, type RetentionInput, type RetentionPolicy, type SegmentInfo } from './retention';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const fcOptions = { numRuns: 500, seed: FC_SEED };
const HOUR_MS = 60 * 60 * 1000;
const SEGMENT_BYTES = 4096;

const policy: RetentionPolicy = { retentionMs: 72 * HOUR_MS, diskUsageHighWaterRatio: 0.75, diskUsageHardLimitRatio: 0.9, deleteSegmentCountMax: 10 };

function segmentsOf(ages: number[], nowMs: number, sizeBytes = 100): SegmentInfo[] {
  return ages.map((ageMs, i) => ({ startLogOffset: i * SEGMENT_BYTES, sizeBytes, lastModifiedMs: nowMs - ageMs }));
}

describe('decideRetention', () => {
  const nowMs = 1_700_000_000_000;
  const calm: DiskUsage = { usedBytes: 10, totalBytes: 100 };

  it('deletes the expired segments, oldest first, and keeps the rest', () => {
    const decision = decideRetention({ segments: segmentsOf([80 * HOUR_MS, 73 * HOUR_MS, 71 * HOUR_MS, 0], nowMs), diskUsage: calm, nowMs, deletableBelowLogOffset: Infinity, policy });
    expect(decision.deletions.map((d) => [d.segment.startLogOffset, d.reason])).toEqual([[0, 'expired'], [SEGMENT_BYTES, 'expired']]);
    expect(decision.refuseWrites).toBe(false);
  });

  it('never deletes the active (last) segment, however old', () => {
    const decision = decideRetention({ segments: segmentsOf([100 * HOUR_MS], nowMs), diskUsage: { usedBytes: 99, totalBytes: 100 }, nowMs, deletableBelowLogOffset: Infinity, policy });
    expect(decision.deletions).toEqual([]);
    expect(decision.refuseWrites).toBe(true);
  });

  it('above the high-water mark deletes unexpired segments until usage is back under it', () => {
    // 80% used; each segment holds 4% of the disk: two deletions bring it to 72%.
    const decision = decideRetention({ segments: segmentsOf([HOUR_MS, HOUR_MS, HOUR_MS, HOUR_MS, 0], nowMs, 4), diskUsage: { usedBytes: 80, totalBytes: 100 }, nowMs, deletableBelowLogOffset: Infinity, policy });
    expect(decision.deletions.map((d) => d.reason)).toEqual(['diskHighWater', 'diskHighWater']);
    expect(decision.usedRatioAfter).toBeCloseTo(0.72);
  });

  it('refuses writes while usage stays at or past the hard limit after the deletions it can do', () => {
    const full = decideRetention({ segments: segmentsOf([HOUR_MS, 0], nowMs, 1), diskUsage: { usedBytes: 95, totalBytes: 100 }, nowMs, deletableBelowLogOffset: Infinity, policy });
    expect(full).toMatchObject({ refuseWrites: true, usedRatio: 0.95 });
    expect(full.deletions).toHaveLength(1);
    const freed = decideRetention({ segments: segmentsOf([HOUR_MS, 0], nowMs, 10), diskUsage: { usedBytes: 95, totalBytes: 100 }, nowMs, deletableBelowLogOffset: Infinity, policy });
    expect(freed.refuseWrites).toBe(false);
  });

  it('keeps segments that end above the checkpoint, even expired', () => {
    const decision = decideRetention({ segments: segmentsOf([90 * HOUR_MS, 90 * HOUR_MS, 0], nowMs), diskUsage: calm, nowMs, deletableBelowLogOffset: SEGMENT_BYTES + 10, policy });
    expect(decision.deletions.map((d) => d.segment.startLogOffset)).toEqual([0]);
  });

  const arbInput = fc
    .record({
      ages: fc.array(fc.integer({ min: 0, max: 200 * HOUR_MS }), { minLength: 0, maxLength: 30 }),
      sizes: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 30, maxLength: 30 }),
      totalBytes: fc.integer({ min: 0, max: 20_000 }),
      usedFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      deletableSegments: fc.integer({ min: 0, max: 31 }),
      highWater: fc.double({ min: 0.05, max: 1, noNaN: true }),
      hardOver: fc.double({ min: 0, max: 1, noNaN: true }),
      retentionMs: fc.integer({ min: 1, max: 100 * HOUR_MS }),
      countMax: fc.integer({ min: 1, max: 12 }),
    })
    .map(({ ages, sizes, totalBytes, usedFraction, deletableSegments, highWater, hardOver, retentionMs, countMax }): RetentionInput => {
      const nowMs = 1_700_000_000_000;
      const segments = ages.map((ageMs, i) => ({ startLogOffset: i * SEGMENT_BYTES, sizeBytes: sizes[i], lastModifiedMs: nowMs - ageMs }));
      return {
        segments,
        diskUsage: { usedBytes: Math.round(totalBytes * usedFraction), totalBytes },
        nowMs,
        deletableBelowLogOffset: deletableSegments * SEGMENT_BYTES,
        policy: { retentionMs, diskUsageHighWaterRatio: highWater, diskUsageHardLimitRatio: highWater + (1 - highWater) * hardOver, deleteSegmentCountMax: countMax },
      };
    });

  it('deletes only a prefix of whole segments, never the last one, never past the checkpoint, at most the batch maximum', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { deletions } = decideRetention(input);
        expect(deletions.map((d) => d.segment)).toEqual(input.segments.slice(0, deletions.length));
        expect(deletions.length).toBeLessThanOrEqual(Math.max(0, input.segments.length - 1));
        expect(deletions.length).toBeLessThanOrEqual(input.policy.deleteSegmentCountMax);
        for (let i = 0; i < deletions.length; i++) expect(input.segments[i + 1].startLogOffset).toBeLessThanOrEqual(input.deletableBelowLogOffset);
      }),
      fcOptions,
    );
  });

  it('deletes an unexpired segment only while usage is above the high-water mark, and stops as soon as it is not', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const { deletions, usedRatio } = decideRetention(input);
        const total = input.diskUsage.totalBytes;
        let used = input.diskUsage.usedBytes;
        for (const { segment, reason } of deletions) {
          const expired = segment.lastModifiedMs + input.policy.retentionMs <= input.nowMs;
          expect(reason).toBe(expired ? 'expired' : 'diskHighWater');
          if (!expired) expect(total > 0 && used / total > input.policy.diskUsageHighWaterRatio).toBe(true);
          used = Math.max(0, used - segment.sizeBytes);
        }
        if (usedRatio <= input.policy.diskUsageHighWaterRatio) expect(deletions.every((d) => d.reason === 'expired')).toBe(true);
        // It stopped for a reason: the batch is full, the next segment must stay, or it is neither expired nor needed.
        const next = input.segments[deletions.length];
        const stoppedEarly = next !== undefined && deletions.length + 1 < input.segments.length && deletions.length < input.policy.deleteSegmentCountMax
          && input.segments[deletions.length + 1].startLogOffset <= input.deletableBelowLogOffset;
        if (stoppedEarly) {
          expect(next.lastModifiedMs + input.policy.retentionMs > input.nowMs).toBe(true);
          expect(total === 0 || used / total <= input.policy.diskUsageHighWaterRatio).toBe(true);
        }
      }),
      fcOptions,
    );
  });

  it('refuses writes exactly when usage after the deletions is at or past the hard limit', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const decision = decideRetention(input);
        const freed = decision.deletions.reduce((sum, d) => sum + d.segment.sizeBytes, 0);
        const after = input.diskUsage.totalBytes > 0 ? Math.max(0, input.diskUsage.usedBytes - freed) / input.diskUsage.totalBytes : 0;
        expect(decision.usedRatioAfter).toBeCloseTo(after, 12);
        expect(decision.refuseWrites).toBe(after >= input.policy.diskUsageHardLimitRatio);
      }),
      fcOptions,
    );
  });
});

function message(queueId: number, body: string): AppendInput {
  return { topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(body.padEnd(300, '.')) };
}

function segmentFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'commitlog')).sort();
}

describe('MessageStore retention (real files)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let nowMs: number;
  let events: StoreEvent[];
  /** A disk of 1 MB holding `otherBytes` of other data plus the commit log as it really is. */
  let otherBytes: number;
  const totalBytes = 1_000_000;
  const diskUsage = async (): Promise<DiskUsage> => {
    const dir = join(temp.path, 'commitlog');
    const logBytes = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    return { usedBytes: otherBytes + logBytes, totalBytes };
  };

  function open(options: Partial<StoreOptions> = {}): Promise<MessageStore> {
    return MessageStore.open({
      dataDir: temp.path,
      flushMode: 'sync',
      segmentSizeBytes: SEGMENT_BYTES,
      // Checkpoints come from close() (reopen below): a short interval would make them overlap,
      // a known bug (message-store-recovery.test.ts) unrelated to retention.
      checkpointIntervalMs: 60_000,
      clock: { nowMs: () => nowMs },
      diskUsage,
      onEvent: (event) => events.push(event),
      ...options,
    });
  }

  /** Appends `count` messages round-robin over queues 0 and 1, then restarts so the checkpoint covers them. */
  async function fill(store: MessageStore, count: number): Promise<MessageStore> {
    for (let i = 0; i < count; i++) await store.append([message(i % 2, `m${i}`)]);
    await store.close();
    const reopened = await open();
    expect(reopened.stats().checkpointLagBytes).toBe(0);
    return reopened;
  }

  async function bodies(store: MessageStore, queueId: number, from = 0): Promise<string[]> {
    const { records } = await store.read('T', queueId, from, { countMax: 1000 });
    return records.map((record) => record.body.toString().replace(/\.+$/, ''));
  }

  beforeEach(() => {
    temp = makeTempDir('store-retention');
    nowMs = Date.now();
    events = [];
    otherBytes = 0;
  });
  afterEach(() => temp.remove());

  it('deletes segments last written longer ago than retentionMs, keeps the active one, and says so in events', async () => {
    const store = await fill(await open(), 60);
    const before = segmentFiles(temp.path);
    expect(before.length).toBeGreaterThanOrEqual(5);

    nowMs += 71 * HOUR_MS;
    expect((await store.runRetention())?.deletions).toEqual([]);
    nowMs += 2 * HOUR_MS;
    const decision = await store.runRetention();
    expect(decision?.deletions.length).toBe(before.length - 1);
    expect(segmentFiles(temp.path)).toEqual(before.slice(-1));
    const deleted = events.filter((event) => event.kind === 'segmentDeleted');
    expect(deleted.map((event) => event.kind === 'segmentDeleted' && [segmentName(event.segmentStartLogOffset), event.reason])).toEqual(before.slice(0, -1).map((name) => [name, 'expired']));
    expect(store.stats()).toMatchObject({ logMinOffset: Number(before.at(-1)), retention: { deletedSegmentCount: before.length - 1 } });
    // Appends go on at the end of the log.
    const [next] = await store.append([message(0, 'after')]);
    expect(next.logOffset).toBeGreaterThanOrEqual(Number(before.at(-1)));
    await store.close();
  });

  it('says the store time of the oldest record on disk, before and after retention moves the log start', async () => {
    let store = await open();
    expect(await store.earliestStoreTimestampMs()).toBeUndefined();
    const firstStoredMs = nowMs + 1_000;
    for (let i = 0; i < 60; i++) {
      nowMs += 1_000; // each record stored a second after the previous one
      await store.append([message(i % 2, `m${i}`)]);
    }
    expect(await store.earliestStoreTimestampMs()).toBe(firstStoredMs);
    await store.close();
    store = await open();
    const files = segmentFiles(temp.path);
    const sizes = files.map((name) => statSync(join(temp.path, 'commitlog', name)).size);
    otherBytes = totalBytes * 0.75 - sizes.reduce((sum, size) => sum + size, 0) + sizes[0] + 1; // the two oldest segments go
    await store.runRetention();
    expect(store.stats().logMinOffset).toBe(Number(files[2]));
    const firsts = await Promise.all([0, 1].map(async (queueId) => (await store.read('T', queueId, 0, { countMax: 1 })).records[0]));
    const oldest = firsts.reduce((a, b) => (a.logOffset < b.logOffset ? a : b));
    expect(oldest.logOffset).toBe(Number(files[2]));
    expect(await store.earliestStoreTimestampMs()).toBe(oldest.storeTimestampMs);
    expect(oldest.storeTimestampMs).toBeGreaterThan(firstStoredMs);
    await store.close();
  });

  it('advances each queue minimum to its first record still on disk; reads below it start there, across a restart too', async () => {
    let store = await fill(await open(), 60);
    const files = segmentFiles(temp.path);
    const firstKept = Number(files[2]);
    // Nothing has expired, but the disk is over the high-water mark by one byte more than the
    // first segment holds: exactly the two oldest segments must go.
    const sizes = files.map((name) => statSync(join(temp.path, 'commitlog', name)).size);
    otherBytes = totalBytes * 0.75 - sizes.reduce((sum, size) => sum + size, 0) + sizes[0] + 1;
    await store.runRetention();
    expect(store.stats().logMinOffset).toBe(firstKept);
    expect(events.filter((event) => event.kind === 'segmentDeleted').map((event) => event.kind === 'segmentDeleted' && event.reason)).toEqual(['diskHighWater', 'diskHighWater']);

    const expectations: Record<number, { min: number; firstBody: string }> = {};
    for (const queueId of [0, 1]) {
      const { minQueueOffset, maxQueueOffset } = store.queueRange('T', queueId);
      expect(maxQueueOffset).toBe(30);
      expect(minQueueOffset).toBeGreaterThan(0);
      const [first] = (await store.read('T', queueId, minQueueOffset, { countMax: 1 })).records;
      expect(first.logOffset).toBeGreaterThanOrEqual(firstKept);
      // The entry before the minimum pointed into a deleted segment.
      const fromZero = await store.read('T', queueId, 0, { countMax: 1 });
      expect(fromZero.records[0].queueOffset).toBe(minQueueOffset);
      expect(fromZero.nextQueueOffset).toBe(minQueueOffset + 1);
      expectations[queueId] = { min: minQueueOffset, firstBody: (await bodies(store, queueId, 0))[0] };
      expect(expectations[queueId].firstBody).toBe(`m${minQueueOffset * 2 + queueId}`);
    }
    await expect(store.readAt(0, 100)).rejects.toThrow(/message at log offset 0 \(deleted by retention\) does not exist/);
    await store.close();

    store = await open();
    for (const queueId of [0, 1]) {
      expect(store.queueRange('T', queueId)).toEqual({ minQueueOffset: expectations[queueId].min, maxQueueOffset: 30 });
      expect((await bodies(store, queueId, 0))[0]).toBe(expectations[queueId].firstBody);
    }
    const [next] = await store.append([message(0, 'after')]);
    expect(next.queueOffset).toBe(30);
    await store.close();
  });

  it('says per queue which queue offsets retention removed, deletes queue files wholly below them, and says nothing again at the next open', async () => {
    const small = { consumeQueueFileEntries: 4 };
    let store = await open(small);
    for (let i = 0; i < 60; i++) await store.append([message(i % 2, `m${i}`)]);
    await store.close();
    store = await open(small);
    nowMs += 73 * HOUR_MS;
    await store.runRetention();
    const trimmed = events.filter((event) => event.kind === 'queueTrimmed');
    expect(trimmed.length).toBe(2);
    for (const queueId of [0, 1]) {
      const { minQueueOffset } = store.queueRange('T', queueId);
      expect(minQueueOffset).toBeGreaterThan(4);
      expect(trimmed).toContainEqual({ kind: 'queueTrimmed', topic: 'T', queueId, fromQueueOffset: 0, toQueueOffset: minQueueOffset });
      // Files of 4 entries: those wholly below the minimum are gone, the rest stay.
      const names = readdirSync(join(temp.path, 'consumequeue', 'T', String(queueId))).sort();
      expect(names).toEqual(Array.from({ length: 8 }, (_, i) => i * 4).filter((start) => start + 4 > minQueueOffset).map((start) => String(start).padStart(20, '0')));
      expect((await store.read('T', queueId, 0, { countMax: 1 })).records[0].queueOffset).toBe(minQueueOffset);
    }
    const ranges = [0, 1].map((queueId) => store.queueRange('T', queueId));
    await store.close();
    events.length = 0;
    store = await open(small);
    expect(events.filter((event) => event.kind === 'queueTrimmed')).toEqual([]);
    expect([0, 1].map((queueId) => store.queueRange('T', queueId))).toEqual(ranges);
    await store.close();
  });

  it('never deletes a segment the checkpoint has not covered, even under disk pressure', async () => {
    const store = await open({ checkpointIntervalMs: 60_000 });
    for (let i = 0; i < 60; i++) await store.append([message(i % 2, `m${i}`)]);
    otherBytes = totalBytes; // far past every mark
    const decision = await store.runRetention();
    expect(decision?.deletions).toEqual([]);
    expect(segmentFiles(temp.path).length).toBeGreaterThanOrEqual(5);
    await store.close();
  });

  it('refuses appends with STORE_FULL past the hard limit and accepts them again once usage drops', async () => {
    const store = await fill(await open(), 4);
    otherBytes = Math.round(totalBytes * 0.95);
    await store.runRetention();
    const error = await store.append([message(0, 'refused')]).catch((caught: unknown) => caught);
    expect(isRmqError(error, 'STORE_FULL')).toBe(true);
    expect((error as Error).message).toMatch(/^the disk is full \(disk usage is 95\.\d%, at or past the hard limit of 90\.0%\); writes are refused until space is freed$/);
    expect(store.stats().retention).toMatchObject({ writesRefused: true, diskUsage: { totalBytes } });
    expect(events.filter((event) => event.kind === 'writesRefused')).toHaveLength(1);

    otherBytes = Math.round(totalBytes * 0.5);
    await store.runRetention();
    const [accepted] = await store.append([message(0, 'accepted')]);
    expect(accepted.queueOffset).toBe(2);
    expect(events.filter((event) => event.kind === 'writesResumed')).toHaveLength(1);
    expect(store.stats().retention.writesRefused).toBe(false);
    // Nothing half-written: everything acknowledged reads back, the refused one is absent.
    expect(await bodies(store, 0)).toEqual(['m0', 'm2', 'accepted']);
    await store.close();
  });

  it('refuses appends from the start when the disk is already past the hard limit at open', async () => {
    otherBytes = totalBytes;
    const store = await open();
    await expect(store.append([message(0, 'x')])).rejects.toMatchObject({ code: 'STORE_FULL' });
    await store.close();
  });

  it('reports a failed usage measurement as an event and keeps serving', async () => {
    let failing = false;
    const store = await open({ diskUsage: async () => (failing ? Promise.reject(new Error('statfs broke')) : diskUsage()) });
    failing = true;
    expect(await store.runRetention()).toBeUndefined();
    expect(events.find((event) => event.kind === 'retentionFailed')).toMatchObject({ error: { message: 'statfs broke' } });
    await store.append([message(0, 'still fine')]);
    await store.close();
  });

  it('measures the real disk with statfs when no usage function is given', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    await store.runRetention();
    const usage = store.stats().retention.diskUsage;
    expect(usage?.totalBytes).toBeGreaterThan(0);
    expect(usage?.usedRatio).toBeGreaterThanOrEqual(0);
    expect(usage?.usedRatio).toBeLessThanOrEqual(1);
    await store.close();
  });
});
