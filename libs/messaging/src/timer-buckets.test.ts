import { makeTempDir } from '@rmq/testing';
import { TimerBuckets, type BucketEntry } from './timer-buckets';

const entry = (queueOffset: number, dueSecond: number): BucketEntry => ({ queueOffset, logOffset: 2 ** 40 + queueOffset, sizeBytes: 300 + queueOffset, dueSecond });

describe('timer bucket files', () => {
  const temp = makeTempDir('timer-buckets');
  afterAll(() => temp.remove());

  it('gives back a bucket\'s entries by due second, in the order they were appended within a second, each second once', async () => {
    const buckets = await TimerBuckets.open(temp.path, 10);
    await buckets.append(1, [entry(5, 12), entry(1, 17), entry(2, 12)]);
    await buckets.append(1, [entry(3, 19), entry(4, 12)]);
    await buckets.append(2, [entry(6, 21)]);
    expect(buckets.entryCount).toBe(6);
    const loaded = await buckets.take(1);
    expect(buckets.entryCount).toBe(1);
    expect(loaded.take(12)).toEqual([entry(5, 12), entry(2, 12), entry(4, 12)]);
    expect(loaded.take(12)).toEqual([]);
    expect(loaded.take(13)).toEqual([]);
    expect(loaded.take(19)).toEqual([entry(3, 19)]);
    expect(loaded.take(17)).toEqual([entry(1, 17)]);
    expect((await buckets.take(1)).take(12)).toEqual([]); // the file is gone: its entries were handed over
    expect((await buckets.take(2)).take(21)).toEqual([entry(6, 21)]);
    expect(buckets.entryCount).toBe(0);
  });
});
