import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { BatchHistogram } from './batch-histogram';

const BOUNDS = [1024, 4096, 524_288];

describe('BatchHistogram', () => {
  it('exposes what prom-client\'s Histogram exposes for the same values, as text and as JSON', async () => {
    const batch = fc.record({
      topic: fc.constantFrom('A', 'B', 'with "quotes"'),
      type: fc.constantFrom('normal', 'fifo'),
      values: fc.array(fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.constantFrom(1024, 4096, 524_288, 0.5)), { maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { maxLength: 8 }), async (batches) => {
        const stockRegistry = new Registry();
        const batchRegistry = new Registry();
        const stock = new Histogram({ name: 'size', help: 'sizes', labelNames: ['topic', 'message_type'], buckets: BOUNDS, registers: [stockRegistry] });
        const ours = new BatchHistogram('size', 'sizes', ['topic', 'message_type'], BOUNDS, batchRegistry);
        for (const { topic, type, values } of batches) {
          for (const value of values) stock.observe({ topic, message_type: type }, value);
          ours.observeAll([topic, type], values);
        }
        expect(await batchRegistry.metrics()).toBe(await stockRegistry.metrics());
        expect(await batchRegistry.getMetricsAsJSON()).toEqual(await stockRegistry.getMetricsAsJSON());
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a value that is not a finite number, as prom-client does', () => {
    const ours = new BatchHistogram('size', 'sizes', ['topic'], BOUNDS, new Registry());
    expect(() => ours.observeAll(['A'], [Number.NaN])).toThrow(/not a valid number/);
  });

  it('forgets everything on reset', async () => {
    const registry = new Registry();
    const ours = new BatchHistogram('size', 'sizes', ['topic'], BOUNDS, registry);
    ours.observeAll(['A'], [1, 2]);
    registry.resetMetrics();
    expect(await registry.metrics()).toBe('# HELP size sizes\n# TYPE size histogram\n');
  });
});
