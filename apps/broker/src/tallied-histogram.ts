// A Prometheus histogram for the series observed on every call (RPC latency, message size):
// prom-client's Histogram builds a label hash string and a closure per observation; this one
// keeps bucket counts per label object (the caller passes the same object for the same label
// set, made once) and allocates nothing per observation. It registers in a prom-client Registry
// and exposes exactly what prom-client's Histogram would (tallied-histogram.test.ts).
import type { Registry } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** One exposition value, shaped as prom-client's own histogram values (the registry formats them). */
interface ExposedValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  /** prom-client's buckets carry a null exemplar (exemplars are off). */
  exemplar?: null;
}

export class TalliedHistogram<L extends Record<string, string>> {
  readonly type = 'histogram';
  /** How prom-client's cluster aggregation would combine it (unused here, part of the metric shape). */
  readonly aggregator = 'sum';
  private readonly series = new Map<L, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** `labels` must be the same object for the same label set (a cache of label objects). */
  observe(labels: L, value: number): void {
    if (!Number.isFinite(value)) return;
    let series = this.series.get(labels);
    if (!series) this.series.set(labels, (series = { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 }));
    let bucket = 0;
    while (bucket < this.buckets.length && value > this.buckets[bucket]) bucket++;
    series.counts[bucket]++;
    series.sum += value;
    series.count++;
  }

  /** What a scrape reads (the registry formats it): per label set, cumulative buckets, +Inf, sum and count. */
  async getForPromString(): Promise<{ name: string; help: string; type: string; values: ExposedValue[]; aggregator: string }> {
    const values: ExposedValue[] = [];
    for (const [labels, series] of this.series) {
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += series.counts[index];
        values.push({ labels: { le: bound }, sharedLabels: labels, value: cumulative, metricName: `${this.name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: labels, value: series.count, metricName: `${this.name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels: labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same values with each label set merged into its values' labels (getMetricsAsJSON). */
  async get(): Promise<{ name: string; help: string; type: string; values: Omit<ExposedValue, 'sharedLabels'>[]; aggregator: string }> {
    const metric = await this.getForPromString();
    return { ...metric, values: metric.values.map(({ sharedLabels, labels, ...value }) => ({ ...value, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.series.clear();
  }
}
