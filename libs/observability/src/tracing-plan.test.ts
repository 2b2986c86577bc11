import { tracingPlan, TracingConfigError } from './tracing-plan';

describe('tracingPlan', () => {
  it('is off without an endpoint or an exporter name', () => {
    expect(tracingPlan({}).kind).toBe('off');
  });

  it('turns OTLP over HTTP with protobuf on when an endpoint is set', () => {
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual({ kind: 'otlp', protocol: 'http/protobuf' });
    expect(tracingPlan({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual({ kind: 'otlp', protocol: 'http/protobuf' });
  });

  it('takes the protocol from the traces-specific variable first', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' };
    expect(tracingPlan(env)).toEqual({ kind: 'otlp', protocol: 'http/json' });
  });

  it('follows OTEL_TRACES_EXPORTER and OTEL_SDK_DISABLED', () => {
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({ kind: 'console' });
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' }).kind).toBe('off');
    expect(tracingPlan({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }).kind).toBe('off');
    expect(tracingPlan({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({ kind: 'otlp', protocol: 'http/protobuf' });
  });

  it('refuses what it cannot honour with a message that names the variable', () => {
    expect(() => tracingPlan({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(TracingConfigError);
    expect(() => tracingPlan({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER=zipkin/);
    expect(() => tracingPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/grpc is not supported/);
  });
});
