import { RecentWrites } from './recent-writes';

const chunk = (logOffset: number, sizeBytes: number) => ({ logOffset, bytes: Buffer.from(Array.from({ length: sizeBytes }, (_, i) => (logOffset + i) % 251)) });

describe('RecentWrites', () => {
  it('serves a range inside one kept chunk as a slice, and nothing across chunks, before them or after them', () => {
    const log = { generation: 0 };
    const recent = new RecentWrites(log, 1000);
    recent.add([chunk(0, 100), chunk(100, 50)]);
    recent.add([chunk(200, 100)]); // a gap: a segment's padded tail
    expect(recent.find(10, 20)).toEqual(chunk(10, 20).bytes);
    expect(recent.find(120, 30)).toEqual(chunk(120, 30).bytes);
    expect(recent.find(250, 50)).toEqual(chunk(250, 50).bytes);
    expect(recent.find(90, 20)).toBeUndefined(); // across two chunks
    expect(recent.find(290, 20)).toBeUndefined(); // past the end
    expect(recent.find(160, 10)).toBeUndefined(); // in the gap
  });

  it('keeps at most bytesMax, oldest dropped first, and forgets everything when the log generation moves', () => {
    const log = { generation: 0 };
    const recent = new RecentWrites(log, 250);
    for (let at = 0; at < 1000; at += 100) recent.add([chunk(at, 100)]);
    expect(recent.find(700, 10)).toBeUndefined();
    expect(recent.find(800, 10)).toEqual(chunk(800, 10).bytes);
    log.generation++;
    expect(recent.find(800, 10)).toBeUndefined();
    recent.add([chunk(500, 100)]); // the log was cut back to 500 and written again
    expect(recent.find(550, 10)).toEqual(chunk(550, 10).bytes);
  });
});
