import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { createLogger } from './logger';
import { contextFromTraceparent, startTracing, traceparentOf } from './tracing';

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({ serviceName: 'rmq-test', attributes: { 'rmq.node_id': 'n1' }, exporter });
  afterAll(() => tracing.shutdown());

  it('is off without OTLP settings, with the reason', () => {
    const off = startTracing({ serviceName: 'rmq-test', env: {} });
    expect(off.enabled).toBe(false);
    expect(off.description).toMatch(/^off \(/);
  });

  it('exports spans with the service name and attributes as the resource', () => {
    tracing.tracer.startSpan('work').end();
    const [span] = exporter.getFinishedSpans();
    expect(span.name).toBe('work');
    expect(span.resource.attributes['service.name']).toBe('rmq-test');
    expect(span.resource.attributes['rmq.node_id']).toBe('n1');
  });

  it('writes and reads W3C traceparent strings', () => {
    const span = tracing.tracer.startSpan('parent');
    const traceparent = traceparentOf(trace.setSpan(context.active(), span));
    span.end();
    expect(traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(trace.getSpanContext(contextFromTraceparent(traceparent)!)?.spanId).toBe(span.spanContext().spanId);
    expect(contextFromTraceparent('not a traceparent')).toBeUndefined();
    expect(contextFromTraceparent(undefined)).toBeUndefined();
  });

  it('puts trace_id and span_id on log lines written inside a span', () => {
    const lines: string[] = [];
    const log = createLogger({ app: 'test' }, { write: (line) => lines.push(line) });
    log.info('outside');
    tracing.tracer.startActiveSpan('inside', (span) => {
      log.info('inside');
      span.end();
    });
    const [outside, inside] = lines.map((line) => JSON.parse(line));
    expect(outside.trace_id).toBeUndefined();
    expect(inside.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(inside.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});
