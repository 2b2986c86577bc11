// Imported before anything that loads @grpc/grpc-js (main.ts), whose
// OpenTelemetry instrumentation patches it as it is required.
import { startAppTracing } from '@rmq/observability';

export const tracing = startAppTracing('broker', {
  // MessagingService has its own messaging spans (message-tracing.ts); the rest is control plane.
  ignoreGrpcMethods: [/^\/apache\.rocketmq\.v2\.MessagingService\//],
});
