// Where a slave's log meets its master's, and the master's check of a Subscribe.
import { planFollow, subscribeProblem } from './follow-plan';

const e = (epoch: number, startLogOffset: number) => ({ epoch, startLogOffset });

describe('planFollow', () => {
  const master = { epochs: [e(1, 0), e(3, 1_000)], minLogOffset: 0, endLogOffset: 5_000 };

  it('follows from the replica\'s end when its log is a prefix of the master\'s', () => {
    expect(planFollow({ epochs: [e(1, 0)], minLogOffset: 0, endLogOffset: 800 }, master)).toEqual({ kind: 'follow', fromLogOffset: 800 });
    expect(planFollow({ epochs: [e(1, 0), e(3, 1_000)], minLogOffset: 0, endLogOffset: 5_000 }, master)).toEqual({ kind: 'follow', fromLogOffset: 5_000 });
    expect(planFollow({ epochs: [], minLogOffset: 0, endLogOffset: 0 }, master)).toEqual({ kind: 'follow', fromLogOffset: 0 });
  });

  it('cuts back what the replica wrote in an epoch the master never had, or past the master\'s end of a shared epoch', () => {
    expect(planFollow({ epochs: [e(1, 0), e(2, 900)], minLogOffset: 0, endLogOffset: 1_500 }, master)).toEqual({ kind: 'truncate', toLogOffset: 900 });
    expect(planFollow({ epochs: [e(1, 0)], minLogOffset: 0, endLogOffset: 1_200 }, master)).toEqual({ kind: 'truncate', toLogOffset: 1_000 });
  });

  it('starts over at the master\'s oldest segment when nothing usable is shared', () => {
    const trimmed = { ...master, minLogOffset: 4_096 };
    expect(planFollow({ epochs: [], minLogOffset: 0, endLogOffset: 0 }, trimmed)).toEqual({ kind: 'restart', atLogOffset: 4_096 });
    expect(planFollow({ epochs: [e(1, 0)], minLogOffset: 0, endLogOffset: 900 }, trimmed)).toEqual({ kind: 'restart', atLogOffset: 4_096 });
    expect(planFollow({ epochs: [e(1, 0), e(2, 900)], minLogOffset: 0, endLogOffset: 1_500 }, { ...master, minLogOffset: 1_024 })).toEqual({ kind: 'restart', atLogOffset: 1_024 });
  });

  it('lets the master refuse a Subscribe from a diverged or out-of-range point, with the reason', () => {
    expect(subscribeProblem(800, [e(1, 0)], master)).toBeUndefined();
    expect(subscribeProblem(1_500, [e(1, 0), e(2, 900)], master)).toMatch(/diverges from the master's at log offset 900/);
    expect(subscribeProblem(6_000, [e(1, 0), e(3, 1_000)], master)).toMatch(/beyond the master's log end/);
    expect(subscribeProblem(0, [], { ...master, minLogOffset: 4_096 })).toMatch(/below the master's oldest segment/);
  });
});
