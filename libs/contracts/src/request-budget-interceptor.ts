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
// ends: answered, failed, cancelled or past its deadline; a request that does not arrive whole
// within GRPC_SERVER_LIMITS.requestReadMsMax is ended, so a stalled sender cannot keep its share.
import type { Http2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { inBandStatusReply } from './call-guard';
import type { RmqError } from '@rmq/base';
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
  /** GRPC_SERVER_LIMITS.requestReadMsMax unless given (tests). */
  requestReadMsMax?: number;
}

/** The interceptor for a server's options (`interceptors`). */
export function requestBudgetInterceptor(budget: RequestBudget, scope: RequestBudgetScope): grpc.ServerInterceptor {
  const alwaysBudgeted = new Set(scope.alwaysBudgeted);
  const readMsMax = scope.requestReadMsMax ?? GRPC_SERVER_LIMITS.requestReadMsMax;
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
    let stalled: NodeJS.Timeout | undefined;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(stalled);
      stream.removeListener('data', onData);
      budget.give(held);
      held = 0;
    };
    /** Ends the call now with `status`, or in-band with `inBand` where the reply has an apache Status; the handler never runs. */
    const refuse = (status: grpc.StatusObject, inBand?: RmqError) => {
      refused = true;
      end();
      // Read no more of it (grpc-js drops what arrives once the call has ended).
      stream.pause();
      const reply = inBand && inBandReplies.get(method.path)?.(statusOf(inBand));
      if (reply) {
        call.sendMessage(reply, () => undefined);
        call.sendStatus({ code: grpc.status.OK, details: 'OK' });
      } else {
        call.sendStatus(status);
      }
    };
    const admit = (bytes: number, arrivedBytes: number) => {
      const error = budget.take(bytes, bytes > GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax || alwaysBudgeted.has(method.path));
      if (error) return refuse({ code: grpc.status.RESOURCE_EXHAUSTED, details: error.message, metadata: toServiceError(error).metadata ?? new grpc.Metadata() }, error);
      held = bytes;
      // A request that stops arriving would hold its share of the budget until the connection dies.
      if (arrivedBytes < bytes) {
        stalled = setTimeout(() => {
          const details = `the request announced ${bytes} bytes and did not arrive whole within ${readMsMax} ms`;
          refuse({ code: grpc.status.DEADLINE_EXCEEDED, details, metadata: new grpc.Metadata() });
        }, readMsMax);
        stalled.unref();
      }
    };
    function onData(chunk: Buffer): void {
      header = header ? Buffer.concat([header, chunk]) : chunk;
      if (header.length < GRPC_FRAME_HEADER_BYTES) return;
      stream!.removeListener('data', onData);
      const bytes = GRPC_FRAME_HEADER_BYTES + header.readUInt32BE(1);
      const arrivedBytes = header.length;
      header = undefined;
      admit(bytes, arrivedBytes);
    }
    // Before grpc-js's own listener: a refused request's first chunk is never decoded.
    stream.prependListener('data', onData);
    return new grpc.ServerInterceptingCall(call, {
      // A refused request never reaches its handler, even if it was read whole before the answer went.
      start: (next) =>
        next({
          onReceiveMessage: (message, pass) => {
            clearTimeout(stalled);
            if (!refused) pass(message);
          },
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
