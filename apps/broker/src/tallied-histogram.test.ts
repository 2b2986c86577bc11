import { Histogram, Registry } from 'prom-client';
import { TalliedHistogram } from './tallied-histogram';

describe('TalliedHistogram', () => {
  const buckets = [1, 3, 5, 100];
  const observations: [string, string, number][] = [
    ['grpc', 'SendMessage', 0.4], ['grpc', 'SendMessage', 1], ['grpc', 'SendMessage', 2.5], ['grpc', 'SendMessage', 250],
    ['grpc', 'Ack"Message\\n', 3], ['grpc', 'Ack"Message\\n', 99.9], ['grpc', 'SendMessage', 5],
  ];

  function registries() {
    const reference = new Registry();
    const tallied = new Registry();
    for (const registry of [reference, tallied]) registry.setDefaultLabels({ cluster: 'c1', node_id: 'b-0' });
    return { reference, tallied };
  }

  it('exposes what prom-client\'s Histogram exposes for the same observations (default labels, escaping, +Inf, sum, count)', async () => {
    const { reference, tallied } = registries();
    const histogram = new Histogram({ name: 'rpc_latency', help: 'latency', labelNames: ['protocol_type', 'request_code'], buckets, registers: [reference] });
    const ours = new TalliedHistogram<{ protocol_type: string; request_code: string }>('rpc_latency', 'latency', buckets, tallied);
    const labelObjects = new Map<string, { protocol_type: string; request_code: string }>();
    for (const [protocol, code, value] of observations) {
      histogram.observe({ protocol_type: protocol, request_code: code }, value);
      if (!labelObjects.has(code)) labelObjects.set(code, { protocol_type: protocol, request_code: code });
      ours.observe(labelObjects.get(code)!, value);
    }
    const expected = await reference.metrics();
    expect(expected).toContain('rpc_latency_bucket{le="+Inf",cluster="c1",node_id="b-0",protocol_type="grpc",request_code="SendMessage"} 5');
    expect(await tallied.metrics()).toBe(expected);
    expect(await tallied.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
  });

  it('exposes nothing before the first observation and after a reset, as prom-client does', async () => {
    const { reference, tallied } = registries();
    const histogram = new Histogram({ name: 'size', help: 'sizes', labelNames: ['topic'], buckets, registers: [reference] });
    const ours = new TalliedHistogram<{ topic: string }>('size', 'sizes', buckets, tallied);
    expect(await tallied.metrics()).toBe(await reference.metrics());
    const labels = { topic: 't' };
    histogram.observe(labels, 7);
    ours.observe(labels, 7);
    reference.resetMetrics();
    tallied.resetMetrics();
    expect(await tallied.metrics()).toBe(await reference.metrics());
  });
});
