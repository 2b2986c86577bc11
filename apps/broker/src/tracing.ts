// The first import of main.ts: tracing starts before anything loads @grpc/grpc-js, whose
// OpenTelemetry instrumentation patches it as it is required.
import { startAppTracing } from '@rmq/observability';

export const tracing = startAppTracing('broker', {
  // MessagingService has its own messaging spans (message-tracing.ts); the rest is control plane.
  ignoreGrpcMethods: [/^\/apache\.rocketmq\.v2\.MessagingService\//],
});
