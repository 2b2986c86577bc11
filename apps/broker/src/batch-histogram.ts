// A Prometheus histogram that takes a request's values at once: prom-client's Histogram.observe
// builds a label key per call, which at one call per stored message cost more than the
// bucket counting itself. Exposed exactly as prom-client's Histogram (batch-histogram.test.ts
// compares the text and JSON of both), registered in the same registry.
import type { Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** Counts per bucket (not cumulative), in the order of the upper bounds. */
  bucketCounts: number[];
  sum: number;
  count: number;
}

interface ValuePair {
  value: number;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  metricName: string;
  /** Always null on buckets and absent otherwise (no exemplars), as prom-client's. */
  exemplar?: null;
}

export class BatchHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** Adds `values` under one label set (given in labelNames order). */
  observeAll(labelValues: readonly string[], values: readonly number[]): void {
    if (values.length === 0) return;
    const key = labelValues.join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = labelValues[i]));
      series = { labels, bucketCounts: this.upperBounds.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const bounds = this.upperBounds;
    for (const value of values) {
      if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
      let bucket = 0;
      while (bucket < bounds.length && value > bounds[bucket]) bucket++;
      if (bucket < bounds.length) series.bucketCounts[bucket]++;
      series.sum += value;
    }
    series.count += values.length;
  }

  reset(): void {
    this.series.clear();
  }

  /** What prom-client's Histogram gives the registry for its text format. */
  getForPromString(): { name: string; help: string; type: string; values: ValuePair[]; aggregator: string } {
    const values: ValuePair[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((upperBound, i) => {
        cumulative += series.bucketCounts[i];
        values.push({ value: cumulative, labels: { le: upperBound }, sharedLabels: series.labels, metricName: bucketName, exemplar: null });
      });
      values.push({ value: series.count, labels: { le: '+Inf' }, sharedLabels: series.labels, metricName: bucketName, exemplar: null });
      values.push({ value: series.sum, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_sum` });
      values.push({ value: series.count, labels: {}, sharedLabels: series.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's Histogram.get(): every value with its labels in one object. */
  get(): { name: string; help: string; type: string; values: ValuePair[]; aggregator: string } {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, ...value }) => ({ ...value, labels: { ...value.labels, ...sharedLabels } }));
    return data;
  }
}
