import fc from 'fast-check';
import { readRuns } from './timer-reads';

describe('readRuns', () => {
  it('merges neighbours within the gap into runs of at most spanMax', () => {
    expect(readRuns([5, 1, 2, 3, 40, 9], 3, 100)).toEqual([{ from: 1, to: 6 }, { from: 9, to: 10 }, { from: 40, to: 41 }]);
    expect(readRuns([0, 1, 2, 3], 1, 2)).toEqual([{ from: 0, to: 2 }, { from: 2, to: 4 }]);
    expect(readRuns([], 4, 4)).toEqual([]);
  });

  it('covers every offset once, in order, with runs within the bounds', () => {
    fc.assert(fc.property(fc.array(fc.nat(500), { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 50 }), (offsets, gapMax, spanMax) => {
      const runs = readRuns(offsets, gapMax, spanMax);
      for (const offset of offsets) expect(runs.filter((run) => run.from <= offset && offset < run.to)).toHaveLength(1);
      runs.forEach((run, i) => {
        expect(run.to - run.from).toBeLessThanOrEqual(spanMax);
        if (i > 0) expect(run.from).toBeGreaterThanOrEqual(runs[i - 1].to);
      });
    }));
  });
});
