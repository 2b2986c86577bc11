import { cpuPercent, LatencySamples } from './bench-stats';
import { resultTable, type PhaseResult } from './bench-report';

describe('bench statistics', () => {
  it('gives nearest-rank percentiles of the samples', () => {
    const samples = new LatencySamples();
    for (let ms = 1000; ms >= 1; ms--) samples.add(ms);
    expect(samples.percentiles([50, 99, 99.9, 100])).toEqual([500, 990, 999, 1000]);
    expect(new LatencySamples().percentiles([50])).toEqual([NaN]);
  });

  it('keeps an even subsample once full, so percentiles stay right with a bounded memory', () => {
    const samples = new LatencySamples(1024);
    for (let i = 1; i <= 100_000; i++) samples.add(i % 100); // 0..99 repeated
    expect(samples.size).toBeLessThanOrEqual(1024);
    const [p50, p99] = samples.percentiles([50, 99]);
    expect(p50).toBeGreaterThanOrEqual(45);
    expect(p50).toBeLessThanOrEqual(55);
    expect(p99).toBeGreaterThanOrEqual(97);
  });

  it('turns two CPU readings into a share of one core, n/a when a reading is missing', () => {
    expect(cpuPercent(1, 1.5, 2)).toBe(25);
    expect(cpuPercent(undefined, 1, 2)).toBeNaN();
  });

  it('prints one aligned row per phase, n/a where there is no figure', () => {
    const row: PhaseResult = {
      phase: 'consume', messages: 1000, seconds: 0.5, messagesPerSecond: 2000, megabytesPerSecond: 2.048, latencyMs: undefined,
      clientCpuPercent: 40, brokerCpuPercent: NaN, brokerCpuUsPerMessage: NaN, notes: 'acks included',
    };
    const lines = resultTable([row]).split('\n');
    expect(lines[0]).toMatch(/^phase\s+msgs\s+msgs\/s\s+MB\/s\s+p50 ms\s+p99 ms\s+p99\.9 ms\s+client CPU%\s+broker CPU%\s+broker µs\/msg\s+notes$/);
    expect(lines[2]).toMatch(/^consume\s+1,000\s+2,000\s+2\.0\s+n\/a\s+n\/a\s+n\/a\s+40\s+n\/a\s+n\/a\s+acks included$/);
    expect(lines[0].indexOf('msgs/s') + 'msgs/s'.length).toBe(lines[2].indexOf('2,000') + '2,000'.length);
  });
});
