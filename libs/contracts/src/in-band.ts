// MessagingService answers every failure in-band: the reply's `status` carries an
// apache.rocketmq.v2.Code and a readable message, and the gRPC call itself succeeds. This
// wrapper does that mapping once for every unary handler (the brokers' and the name server's),
// and logs the client and request ids.
import type * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { okStatus, statusOf, toRmqError } from './status';
import type * as v2 from './v2';

/** The part of a logger in-band handlers use (observability's Logger has it). */
export interface InBandLogger {
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export interface CallContext {
  clientId: string;
  requestId: string;
  /** The zone a client of ours declares (`x-rmq-zone`); '' for none and for official clients. */
  zone: string;
  /** The caller's W3C trace context header, '' for none (tracing). */
  traceparent: string;
  signal: AbortSignal;
}

/** The abort reason of every call the client cancelled (or that ended): nobody reads more than that it was aborted. */
const CALL_CANCELLED = Object.freeze(new Error('the call was cancelled'));

type ServerCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export function callContextOf(call: ServerCall): CallContext {
  return new ServerCallContext(call);
}

/**
 * A call's context, read from its headers when a handler asks: most calls use one header or
 * none (the request id and zone only in logs and route queries), and the abort signal only
 * long polls need (a controller plus a listener per unary call is measurable at one call per
 * message, the official client's path).
 */
class ServerCallContext implements CallContext {
  private clientIdValue: string | undefined;
  private abort: AbortController | undefined;

  constructor(private readonly call: ServerCall) {}

  get clientId(): string {
    return (this.clientIdValue ??= this.header('x-mq-client-id'));
  }

  get requestId(): string {
    return this.header('x-mq-request-id');
  }

  get zone(): string {
    return this.header('x-rmq-zone');
  }

  get traceparent(): string {
    return this.header('traceparent');
  }

  get signal(): AbortSignal {
    if (!this.abort) {
      const controller = (this.abort = new AbortController());
      // With a reason made once: abort() without one builds a DOMException (a stack trace) per call.
      if (this.call.cancelled) controller.abort(CALL_CANCELLED);
      else (this.call as unknown as NodeJS.EventEmitter).once('cancelled', () => controller.abort(CALL_CANCELLED));
    }
    return this.abort.signal;
  }

  private header(name: string): string {
    const value = this.call.metadata.get(name)[0];
    return value === undefined ? '' : String(value);
  }
}

type WithStatus = DescMessage;

/** A reply the handler built whole (every field set, nested messages complete); OK is added when it has no status. */
export type CompleteReply<D extends DescMessage> = MessageShape<D> & { status?: v2.Status };

/**
 * Serves a unary RPC from `handler`, which returns the reply without its status (OK is added)
 * or throws; a thrown error becomes the reply's status. A handler on the path of every message
 * returns its reply whole (a `CompleteReply`, with its `$typeName`): it is sent as it is, without
 * create()'s walk of the schema per call.
 */
export function inBand<Req, D extends WithStatus>(
  name: string,
  responseSchema: D,
  handler: (request: Req, context: CallContext) => Promise<Omit<MessageInitShape<D>, 'status'> | CompleteReply<D>>,
  log: InBandLogger,
  observe: (method: string, code: v2.Code, durationMs: number) => void,
): grpc.handleUnaryCall<Req, MessageShape<D>> {
  return (call, callback) => {
    const startedMs = performance.now();
    const context = callContextOf(call as grpc.ServerUnaryCall<unknown, unknown>);
    // The handler has the request from here on; the call, alive until the reply, lets go of it: a
    // send's decoded messages then die young instead of being copied by every scavenge while
    // its fdatasync runs. (Guards and forwarding read it before; nothing reads it after.)
    const request = call.request;
    (call as { request: unknown }).request = undefined;
    handler(request, context).then(
      (reply) => {
        let response: MessageShape<D>;
        if (isComplete(reply, responseSchema)) {
          reply.status ??= okStatus();
          response = reply;
        } else {
          response = create(responseSchema, { status: okStatus(), ...reply } as unknown as MessageInitShape<D>);
        }
        const status = (response as unknown as { status?: v2.Status }).status;
        observe(name, status?.code ?? 0, performance.now() - startedMs);
        callback(null, response);
      },
      (error: unknown) => {
        const rmqError = toRmqError(error, (message, fields) => log.error(message, { ...fields, method: name, clientId: context.clientId, requestId: context.requestId }));
        const status = statusOf(rmqError);
        if (rmqError.kind !== 'internal') log.debug('request refused', { method: name, code: rmqError.code, reason: rmqError.message, clientId: context.clientId, requestId: context.requestId });
        observe(name, status.code, performance.now() - startedMs);
        callback(null, create(responseSchema, { status } as unknown as MessageInitShape<D>));
      },
    );
  };
}

function isComplete<D extends DescMessage>(reply: object, schema: D): reply is CompleteReply<D> {
  return (reply as { $typeName?: string }).$typeName === schema.typeName;
}
