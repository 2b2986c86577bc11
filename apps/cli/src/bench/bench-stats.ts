// What `rmq bench` measures with: latency samples and their percentiles, and CPU time of this
// process and of the broker (its /proc entry when it runs here, else its /metrics endpoint).
import { readFileSync } from 'node:fs';

/** Latency samples in milliseconds, kept up to a bound (then every other one is dropped, evenly). */
export class LatencySamples {
  private values: Float64Array;
  private count = 0;
  private stride = 1;
  private seen = 0;

  constructor(private readonly capacity = 1 << 20) {
    this.values = new Float64Array(capacity);
  }

  add(ms: number): void {
    if (this.seen++ % this.stride !== 0) return;
    if (this.count === this.capacity) {
      // Full: keep every second sample and take half as many from now on.
      for (let i = 0; i < this.capacity / 2; i++) this.values[i] = this.values[2 * i];
      this.count = this.capacity / 2;
      this.stride *= 2;
    }
    this.values[this.count++] = ms;
  }

  get size(): number {
    return this.count;
  }

  /** p in [0, 100]; NaN without samples. Nearest rank on the sorted samples. */
  percentiles(ps: readonly number[]): number[] {
    if (this.count === 0) return ps.map(() => NaN);
    const sorted = this.values.slice(0, this.count).sort();
    return ps.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p * this.count) / 100 - 1e-9) - 1))]);
  }
}

/** CPU seconds used so far by a process, or undefined when it cannot be read. */
export type CpuClock = () => Promise<number | undefined>;

export const clientCpu: CpuClock = async () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

/** utime + stime of a local process from /proc/<pid>/stat (clock ticks of 10 ms on Linux). */
export function procCpu(pid: number): CpuClock {
  return async () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return undefined;
    }
  };
}

/** process_cpu_seconds_total from a Prometheus endpoint (the broker's --http-listen). */
export function metricsCpu(address: string, timeoutMs = 2_000): CpuClock {
  return async () => {
    try {
      const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
      const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(await response.text());
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined;
    }
  };
}

/** CPU used between two readings as a share of one core over `wallSeconds` (100 = one core busy). */
export function cpuPercent(before: number | undefined, after: number | undefined, wallSeconds: number): number {
  return before === undefined || after === undefined || wallSeconds <= 0 ? NaN : (100 * (after - before)) / wallSeconds;
}
