// OpenTelemetry tracing, set up once per process: a tracer provider named after the app, W3C
// trace-context propagation, the exporter the OTEL_* environment picks (tracing-plan.ts), and
// grpc-js instrumentation for calls between apps. Off (the default without an endpoint) loads
// no SDK module and callers skip their span work through `enabled`.
//
// Call it before anything loads @grpc/grpc-js (each app's first import is its tracing.ts): the
// instrumentation patches grpc-js as it is required, which is also why the bundles keep npm
// packages external.
import { context, propagation, ROOT_CONTEXT, trace, type Context, type Tracer } from '@opentelemetry/api';
import type * as SdkTraceNode from '@opentelemetry/sdk-trace-node';
import { tracingPlan, type TracingPlan } from './tracing-plan';

export interface TracingOptions {
  /** service.name unless OTEL_SERVICE_NAME says otherwise, e.g. "rmq-broker". */
  serviceName: string;
  /** Extra resource attributes (node id, cluster); OTEL_RESOURCE_ATTRIBUTES adds more. */
  attributes?: Record<string, string>;
  /** gRPC methods the instrumentation leaves alone (full path or method name), e.g. data-plane RPCs the app traces itself. */
  ignoreGrpcMethods?: (string | RegExp)[];
  env?: Record<string, string | undefined>;
  /** Tests: export here, span by span, instead of what the environment says. */
  exporter?: SdkTraceNode.SpanExporter;
}

export interface Tracing {
  /** False when tracing is off: callers skip building spans altogether. */
  readonly enabled: boolean;
  /** A no-op tracer when off. */
  readonly tracer: Tracer;
  /** For the start log line: "off (reason)", "otlp http/protobuf", ... */
  readonly description: string;
  /** Sends what is still buffered and stops; bounded by the exporter's timeout. */
  shutdown(): Promise<void>;
}

const TRACER_NAME = '@rmq/observability';

export function startTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const plan: TracingPlan = options.exporter ? { kind: 'console' } : tracingPlan(env); // a test's exporter: on
  if (plan.kind === 'off') {
    return { enabled: false, tracer: trace.getTracer(TRACER_NAME), description: `off (${plan.reason})`, shutdown: async () => {} };
  }
  // Loaded only when tracing is on, so "off" costs no start-up time either.
  const sdk = require('@opentelemetry/sdk-trace-node') as typeof SdkTraceNode;
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { detectResources, envDetector, resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
  const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc');

  const exporter = options.exporter ?? exporterFor(plan, sdk);
  const resource = resourceFromAttributes({ 'service.name': options.serviceName, ...options.attributes }).merge(
    detectResources({ detectors: [envDetector] }), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
  );
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [options.exporter ? new sdk.SimpleSpanProcessor(exporter) : new sdk.BatchSpanProcessor(exporter)],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new GrpcInstrumentation({ ignoreGrpcMethods: options.ignoreGrpcMethods })],
  });
  return {
    enabled: true,
    tracer: provider.getTracer(TRACER_NAME),
    description: options.exporter ? 'test exporter' : plan.kind === 'otlp' ? `otlp ${plan.protocol}` : 'console',
    shutdown: () => provider.shutdown(),
  };
}

function exporterFor(plan: Exclude<TracingPlan, { kind: 'off' }>, sdk: typeof SdkTraceNode): SdkTraceNode.SpanExporter {
  if (plan.kind === 'console') return new sdk.ConsoleSpanExporter();
  if (plan.protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

/** The context a W3C `traceparent` string describes (e.g. a message's trace_context), or undefined if it is not one. */
export function contextFromTraceparent(traceparent: string | undefined): Context | undefined {
  if (!traceparent) return undefined;
  const extracted = propagation.extract(ROOT_CONTEXT, { traceparent });
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The W3C `traceparent` of a context's span, or undefined when it has none. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** An app's first step: tracing as the environment asks, or exit 2 with the reason when it cannot be honoured. */
export function startAppTracing(app: string, options: Omit<TracingOptions, 'serviceName'> = {}): Tracing {
  try {
    return startTracing({ serviceName: `rmq-${app}`, ...options });
  } catch (error) {
    process.stderr.write(`${app}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
