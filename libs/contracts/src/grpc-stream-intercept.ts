// What the fast paths (fast-path.ts, bidi-fast-path.ts) need of grpc-js 1.14.7's server internals
// (pinned: these are not its public API): its HTTP/2 servers and their one 'stream' listener, put
// behind ours so a call we do not serve reaches grpc-js exactly as before; its idle-connection count;
// and how it reads `grpc-timeout`.
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
interface GrpcServerInternals {
  http2Servers?: Map<Http2Server, unknown>;
  onStreamOpened?: (stream: ServerHttp2Stream) => void;
}

/**
 * Puts a listener in front of grpc-js's on each HTTP/2 server of `server` (call once it is bound:
 * after `listen`): a stream for which `pick` returns a method is counted as grpc-js counts its own
 * (its idle-connection timer) and handed to `start`; any other goes on to the listener that was
 * there before. False, and nothing changed, when grpc-js's internals are not as this expects.
 */
export function interceptGrpcStreams<M>(
  server: grpc.Server,
  pick: (headers: IncomingHttpHeaders) => M | undefined,
  start: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: M) => void,
): boolean {
  const internals = server as unknown as GrpcServerInternals;
  const http2Servers = internals.http2Servers;
  const onStreamOpened = internals.onStreamOpened;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0 || typeof onStreamOpened !== 'function') return false;
  const listenersOf = [...http2Servers.keys()].map((http2Server) => [http2Server, http2Server.listeners('stream') as StreamListener[]] as const);
  if (listenersOf.some(([, listeners]) => listeners.length !== 1)) return false;
  for (const [http2Server, [passOn]] of listenersOf) {
    http2Server.removeListener('stream', passOn);
    http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      const method = pick(headers);
      if (method === undefined) {
        passOn.call(http2Server, stream, headers);
        return;
      }
      stream.on('error', () => undefined); // a 'close' follows: the call is then cancelled
      onStreamOpened.call(server, stream);
      start(stream, headers, method);
    });
  }
  return true;
}

/** An uncompressed gRPC call (POST, application/grpc, identity or no encoding): what the fast paths serve. */
export function isPlainGrpcCall(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['grpc-encoding'];
  return headers[':method'] === 'POST' && headers['content-type']?.startsWith('application/grpc') === true && (encoding === undefined || encoding === 'identity');
}

/** grpc-js's DEADLINE_REGEX and units. */
const TIMEOUT_HEADER = /(\d{1,8})\s*([HMSmun])/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** A `grpc-timeout` header in ms, as grpc-js reads it; undefined when it does not parse (grpc-js answers INTERNAL). */
export function grpcTimeoutMs(header: string | string[]): number | undefined {
  const match = TIMEOUT_HEADER.exec(String(header));
  return match ? (Number(match[1]) * TIMEOUT_UNIT_MS[match[2]]) | 0 : undefined;
}
