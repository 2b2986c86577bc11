import fc from 'fast-check';
import { parseRetryDelays, RETRY_DELAYS_MS_DEFAULT, retryDelayMs } from './retry-policy';

describe('retry schedule', () => {
  it("follows RocketMQ's default schedule: 10 s after the first failed delivery, 2 h from the 16th on", () => {
    expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 1)).toBe(10_000);
    expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 2)).toBe(30_000);
    expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 3)).toBe(60_000);
    expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 16)).toBe(7_200_000);
    expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 40)).toBe(7_200_000);
    // 4 h 45 min 40 s in all (RocketMQ documents "about 4 h 46 m").
    expect(RETRY_DELAYS_MS_DEFAULT.reduce((a, b) => a + b, 0)).toBe(((4 * 60 + 45) * 60 + 40) * 1000);
  });

  it('never shrinks as the attempt grows, and never goes below what the client asked for', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 10_000_000 }), (attempt, requestedMs) => {
        const delay = retryDelayMs(RETRY_DELAYS_MS_DEFAULT, attempt, requestedMs);
        expect(delay).toBeGreaterThanOrEqual(requestedMs);
        expect(retryDelayMs(RETRY_DELAYS_MS_DEFAULT, attempt + 1, requestedMs)).toBeGreaterThanOrEqual(delay);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an attempt below 1', () => {
    expect(() => retryDelayMs(RETRY_DELAYS_MS_DEFAULT, 0)).toThrow(/positive integer/);
  });

  it('parses a schedule with units, and the empty text as the default', () => {
    expect(parseRetryDelays('200ms, 1s,2m,1h,50')).toEqual([200, 1_000, 120_000, 3_600_000, 50]);
    expect(parseRetryDelays('')).toEqual(RETRY_DELAYS_MS_DEFAULT);
  });

  it('refuses a schedule it cannot read, naming the bad part', () => {
    expect(() => parseRetryDelays('10s,soon')).toThrow(/"soon" is not a duration/);
    expect(() => parseRetryDelays('25h')).toThrow(/above the limit/);
  });
});
