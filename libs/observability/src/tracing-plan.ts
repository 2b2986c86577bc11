// Which trace exporter the standard OTEL_* environment variables ask for. Pure: the same
// environment always gives the same plan, and a value we cannot honour is an error a person
// can act on, never a silent fallback.
//
//   OTEL_SDK_DISABLED=true                       tracing off
//   OTEL_TRACES_EXPORTER=none|otlp|console       (only the first of a comma list is used)
//   OTEL_EXPORTER_OTLP[_TRACES]_ENDPOINT         without OTEL_TRACES_EXPORTER, an endpoint turns OTLP on
//   OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL         http/protobuf (default) or http/json
//
// Endpoint, headers, timeout and compression are read by the exporter itself; sampling
// (OTEL_TRACES_SAMPLER[_ARG]) and batching (OTEL_BSP_*) by the SDK.

export type TracingPlan =
  | { kind: 'off'; reason: string }
  | { kind: 'console' }
  | { kind: 'otlp'; protocol: 'http/protobuf' | 'http/json' };

export class TracingConfigError extends Error {}

export function tracingPlan(env: Record<string, string | undefined>): TracingPlan {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return { kind: 'off', reason: 'OTEL_SDK_DISABLED=true' };
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',')[0].trim().toLowerCase();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (named === 'none') return { kind: 'off', reason: 'OTEL_TRACES_EXPORTER=none' };
  if (named === 'console') return { kind: 'console' };
  if (named === '' && !endpoint) return { kind: 'off', reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT and no OTEL_TRACES_EXPORTER' };
  if (named !== '' && named !== 'otlp') {
    throw new TracingConfigError(`OTEL_TRACES_EXPORTER=${named} is not supported; use otlp, console or none`);
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new TracingConfigError(`OTLP protocol ${protocol} is not supported; use http/protobuf or http/json (OTEL_EXPORTER_OTLP_PROTOCOL)`);
  }
  return { kind: 'otlp', protocol };
}
