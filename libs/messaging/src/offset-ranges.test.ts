import fc from 'fast-check';
import { OffsetRanges } from './offset-ranges';

describe('OffsetRanges', () => {
  it('holds exactly the offsets added, as disjoint, non-adjacent sorted ranges (against a Set model)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(200), fc.nat(12)), { maxLength: 60 }), fc.nat(220), (adds, cut) => {
        const ranges = new OffsetRanges();
        const model = new Set<number>();
        for (const [start, length] of adds) {
          ranges.add(start, start + length);
          for (let offset = start; offset < start + length; offset++) model.add(offset);
        }
        const list = ranges.list();
        for (let i = 1; i < list.length; i++) expect(list[i][0]).toBeGreaterThan(list[i - 1][1]);
        for (let offset = 0; offset < 215; offset++) expect(ranges.has(offset)).toBe(model.has(offset));
        ranges.dropBelow(cut);
        for (let offset = 0; offset < 215; offset++) expect(ranges.has(offset)).toBe(offset >= cut && model.has(offset));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a gap of any size as one range', () => {
    const ranges = new OffsetRanges();
    ranges.add(0, 2 ** 40);
    ranges.add(2 ** 40 + 1, 2 ** 41);
    expect(ranges.rangeCount).toBe(2);
    ranges.add(2 ** 40, 2 ** 40 + 1);
    expect(ranges.list()).toEqual([[0, 2 ** 41]]);
  });
});
