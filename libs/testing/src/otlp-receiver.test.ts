import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';

// The OTLP exporters load node:http with a dynamic import(), which jest's sandbox refuses, so
// the spans are made and exported by a plain node process, as the apps do.
const EXPORT_SCRIPT = `
const { context, trace, SpanKind } = require('@opentelemetry/api');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { NodeTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const [url, format] = process.argv.slice(1);
const { OTLPTraceExporter } = require(format === 'json' ? '@opentelemetry/exporter-trace-otlp-http' : '@opentelemetry/exporter-trace-otlp-proto');
const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'receiver-test' }), spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url }))] });
const tracer = provider.getTracer('test');
const linked = tracer.startSpan('linked');
linked.end();
const parent = tracer.startSpan('parent', { kind: SpanKind.SERVER });
const child = tracer.startSpan('child', { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'rocketmq', count: 3, ok: true }, links: [{ context: linked.spanContext() }] }, trace.setSpan(context.active(), parent));
child.end();
parent.end();
provider.shutdown().then(() => console.log(JSON.stringify({ linked: linked.spanContext(), parent: parent.spanContext(), child: child.spanContext() })));
`;

describe('OTLP/HTTP receiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it.each(['protobuf', 'json'])('decodes spans sent as %s: ids, parent, kind, attributes, links, service name', async (format) => {
    receiver.spans.length = 0;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', EXPORT_SCRIPT, `${receiver.endpoint}/v1/traces`, format], { cwd: join(__dirname, '../../..') });
    const sent = JSON.parse(stdout) as Record<'linked' | 'parent' | 'child', { traceId: string; spanId: string }>;
    const byName = Object.fromEntries(receiver.spans.map((span) => [span.name, span]));
    expect(Object.keys(byName).sort()).toEqual(['child', 'linked', 'parent']);
    expect(byName.child).toMatchObject({
      serviceName: 'receiver-test',
      traceId: sent.parent.traceId,
      spanId: sent.child.spanId,
      parentSpanId: sent.parent.spanId,
      kind: 'CONSUMER',
      attributes: { 'messaging.system': 'rocketmq', count: 3, ok: true },
      links: [{ traceId: sent.linked.traceId, spanId: sent.linked.spanId }],
    });
    expect(byName.parent).toMatchObject({ kind: 'SERVER', parentSpanId: '' });
  });
});
