// The one way our apps make a gRPC server: with the limits of GRPC_SERVER_LIMITS.
import * as grpc from '@grpc/grpc-js';
import { GRPC_SERVER_LIMITS } from './limits';

export interface GrpcServerOptions {
  receiveMessageBytesMax?: number;
  concurrentStreamsPerConnectionMax?: number;
  /** Run around every call, e.g. requestBudgetInterceptor. */
  interceptors?: grpc.ServerInterceptor[];
}

export function createGrpcServer(options: GrpcServerOptions = {}): grpc.Server {
  return new grpc.Server({
    interceptors: options.interceptors ?? [],
    'grpc.max_receive_message_length': options.receiveMessageBytesMax ?? GRPC_SERVER_LIMITS.receiveMessageBytesMaxDefault,
    'grpc.max_concurrent_streams': options.concurrentStreamsPerConnectionMax ?? GRPC_SERVER_LIMITS.concurrentStreamsPerConnectionMax,
    'grpc.keepalive_time_ms': GRPC_SERVER_LIMITS.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': GRPC_SERVER_LIMITS.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': GRPC_SERVER_LIMITS.connectionIdleMsMax,
    'grpc.max_connection_age_ms': GRPC_SERVER_LIMITS.connectionAgeMsMax,
    'grpc.max_connection_age_grace_ms': GRPC_SERVER_LIMITS.connectionAgeGraceMs,
    'grpc-node.max_session_memory': GRPC_SERVER_LIMITS.sessionMemoryMibMax,
    // Nobody reads channelz; on (grpc-js's default) it costs every call a tracker, two clock reads and counters.
    'grpc.enable_channelz': 0,
  });
}
