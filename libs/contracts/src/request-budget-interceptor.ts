// Applies a RequestBudget to every call of a gRPC server whose request is one message (unary and
// server-streaming calls: SendMessage and the like; streams of small messages pass untouched).
//
// grpc-js reads a request whole before any handler or interceptor sees it, so a budget checked
// there would bound nothing: a flood of large sends is in memory (twice: HTTP/2 chunks, then
// joined) before it could be refused. The size is known earlier: the first 5 bytes of a gRPC
// request are its frame header (compressed flag, 4-byte length). This interceptor reads them from
// the call's HTTP/2 stream as they arrive, takes the request's size from the budget, and when
// the budget refuses, answers TOO_MANY_REQUESTS right away: grpc-js drops the rest of the
// request (and HTTP/2 flow control stops the sender). The bytes are given back when the call
// ends: answered, failed, cancelled or past its deadline.
import type { Http2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { inBandStatusReply } from './call-guard';
import { GRPC_SERVER_LIMITS } from './limits';
import type { RequestBudget } from './request-budget';
import { statusOf, toServiceError } from './status';

const GRPC_FRAME_HEADER_BYTES = 5;
/** How deep the chain of intercepting calls is searched for grpc-js's own call (it is the first). */
const CALL_CHAIN_DEPTH_MAX = 8;

type StatusReply = (status: ReturnType<typeof statusOf>) => MessageShape<DescMessage>;

export interface RequestBudgetScope {
  /** The services the server serves: a refusal is answered in-band for methods whose reply carries an apache Status. */
  services: readonly GenService<GenServiceMethods>[];
  /** Methods refused past the budget whatever their size, as gRPC paths (e.g. sends); others only above GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax. */
  alwaysBudgeted: readonly string[];
}

/** The interceptor for a server's options (`interceptors`). */
export function requestBudgetInterceptor(budget: RequestBudget, scope: RequestBudgetScope): grpc.ServerInterceptor {
  const alwaysBudgeted = new Set(scope.alwaysBudgeted);
  const inBandReplies = new Map<string, StatusReply | undefined>();
  for (const service of scope.services) {
    for (const method of service.methods) inBandReplies.set(`/${service.typeName}/${method.name}`, inBandStatusReply(method.output));
  }
  return (method, call) => {
    if (method.requestStream) return new grpc.ServerInterceptingCall(call);
    const stream = http2StreamOf(call);
    if (!stream) throw new Error('request budget: grpc-js no longer exposes the call\'s HTTP/2 stream; check request-budget-interceptor.ts against this grpc-js');
    let held = 0;
    let ended = false;
    let refused = false;
    let header: Buffer | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      stream.removeListener('data', onData);
      budget.give(held);
      held = 0;
    };
    const admit = (bytes: number) => {
      const error = budget.take(bytes, bytes > GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax || alwaysBudgeted.has(method.path));
      if (!error) {
        held = bytes;
        return;
      }
      refused = true;
      end();
      // Read no more of it (grpc-js drops what arrives once the call has ended).
      stream.pause();
      const reply = inBandReplies.get(method.path)?.(statusOf(error));
      if (reply) {
        call.sendMessage(reply, () => undefined);
        call.sendStatus({ code: grpc.status.OK, details: 'OK' });
      } else {
        call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details: error.message, metadata: toServiceError(error).metadata ?? null });
      }
    };
    function onData(chunk: Buffer): void {
      header = header ? Buffer.concat([header, chunk]) : chunk;
      if (header.length < GRPC_FRAME_HEADER_BYTES) return;
      stream!.removeListener('data', onData);
      const bytes = GRPC_FRAME_HEADER_BYTES + header.readUInt32BE(1);
      header = undefined;
      admit(bytes);
    }
    // Before grpc-js's own listener: a refused request's first chunk is never decoded.
    stream.prependListener('data', onData);
    return new grpc.ServerInterceptingCall(call, {
      // A refused request never reaches its handler, even if it was read whole before the answer went.
      start: (next) =>
        next({
          onReceiveMessage: (message, pass) => (refused ? undefined : pass(message)),
          onReceiveHalfClose: (pass) => (refused ? undefined : pass()),
          onCancel: end,
        }),
      sendStatus: (status, next) => {
        end();
        next(status);
      },
    });
  };
}

/** grpc-js's own call (the first of the chain) holds the HTTP/2 stream; not part of its API: request-budget.int.test.ts fails when a grpc-js upgrade moves it. */
function http2StreamOf(call: grpc.ServerInterceptingCallInterface): Http2Stream | undefined {
  let current: unknown = call;
  for (let depth = 0; depth < CALL_CHAIN_DEPTH_MAX && current; depth++) {
    const candidate = current as { stream?: Http2Stream; nextCall?: unknown };
    if (candidate.stream && typeof candidate.stream.prependListener === 'function') return candidate.stream;
    current = candidate.nextCall;
  }
  return undefined;
}
