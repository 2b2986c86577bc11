// The one way our apps make a gRPC server: with the limits of GRPC_SERVER_LIMITS.
import * as grpc from '@grpc/grpc-js';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
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

/**
 * Raises the HTTP/2 flow-control windows a client may send into (per stream and per connection)
 * on `server`'s HTTP/2 servers; call once they are bound (after `listen`), as serveFastPath. With
 * node's 64 KiB defaults a 280 KB send crosses several window updates, each a write and a
 * client wake-up; the server reads whatever arrives at once, so the window bounds no memory.
 * False when grpc-js's internals are not as expected (nothing changes then).
 */
export function widenReceiveWindows(server: grpc.Server, bytes: number): boolean {
  const http2Servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(http2Servers instanceof Map)) return false;
  for (const http2Server of http2Servers.keys()) {
    http2Server.updateSettings({ initialWindowSize: bytes });
    // The connection's window is not a setting: each session is told.
    http2Server.on('session', (session: ServerHttp2Session) => {
      if (!session.destroyed) session.setLocalWindowSize(bytes);
    });
  }
  return http2Servers.size > 0;
}
