// The SDK's spans, through @opentelemetry/api only: they are recorded when the application has
// registered an OpenTelemetry SDK and cost a no-op call otherwise. A sent message carries its
// send span's W3C trace context in SystemProperties.trace_context, as RocketMQ 5 clients put it;
// the broker links its spans to it, and our consumers open their spans from it.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

const tracer = () => trace.getTracer('@rmq/client');

const attributes = (topic: string, operationType: string, operationName: string) => ({
  'messaging.system': 'rocketmq',
  'messaging.destination.name': topic,
  'messaging.operation.type': operationType,
  'messaging.operation.name': operationName,
});

/** A PRODUCER span for one message, child of the caller's active span; its traceparent, if recorded, goes with the message. */
export function startSendSpan(topic: string, messageId: string): { span: Span; traceContext?: string } {
  const span = tracer().startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes: { ...attributes(topic, 'send', 'send'), 'messaging.message.id': messageId } });
  if (!span.isRecording()) return { span };
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return { span, traceContext: carrier.traceparent };
}

/** The creation context a message carries, or undefined. */
export function creationContextOf(traceContext: string | undefined): Context | undefined {
  if (!traceContext) return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, { traceparent: traceContext });
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** A CONSUMER span for a SimpleConsumer's receive that returned messages, linked to their creation contexts. */
export function recordReceive(topic: string, group: string, traceContexts: (string | undefined)[]): void {
  if (traceContexts.length === 0) return;
  const links = traceContexts.map(creationContextOf).filter((ctx): ctx is Context => ctx !== undefined).map((ctx) => ({ context: trace.getSpanContext(ctx)! }));
  tracer().startSpan(`receive ${topic}`, {
    kind: SpanKind.CONSUMER,
    attributes: { ...attributes(topic, 'receive', 'receive'), 'messaging.consumer.group.name': group, 'messaging.batch.message_count': traceContexts.length },
    links,
  }).end();
}

/** Runs a PushConsumer's listener inside a CONSUMER "process" span, child of the message's creation context. */
export async function inProcessSpan<T>(topic: string, group: string, messageId: string, traceContext: string | undefined, run: () => Promise<T>): Promise<T> {
  const parent = creationContextOf(traceContext) ?? ROOT_CONTEXT;
  const span = tracer().startSpan(`process ${topic}`, {
    kind: SpanKind.CONSUMER,
    attributes: { ...attributes(topic, 'process', 'process'), 'messaging.consumer.group.name': group, 'messaging.message.id': messageId },
  }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), run);
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}
