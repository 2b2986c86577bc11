// The one wrapper around every handler of a service, whatever its kind (unary, server-streaming,
// client-streaming, bidi): cross-cutting checks (authentication, authorization, limits, tracing)
// go here once. A guard that throws refuses the call before the handler runs; the refusal is
// answered the way the method answers failures: an in-band apache.rocketmq.v2.Status when the
// reply has one (MessagingService), a gRPC status otherwise (our internal services).
import type * as grpc from '@grpc/grpc-js';
import { create, type DescField, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { ServiceHandlers } from './grpc-adapter';
import { statusOf, toRmqError, toServiceError, type ErrorLogger } from './status';

export type MethodKind = 'unary' | 'server_streaming' | 'client_streaming' | 'bidi_streaming';

/** What a guard sees of a call before its handler runs. */
export interface GuardedCall {
  /** The method's proto name, e.g. "SendMessage". */
  method: string;
  kind: MethodKind;
  metadata: grpc.Metadata;
  /** The request, for unary and server-streaming calls (undefined for client streams). */
  request: unknown;
  /** The caller's address, e.g. "ipv4:127.0.0.1:50312". */
  peer: string;
  /** The TLS peer, when the call came over TLS (its certificate for mutual TLS). */
  peerCertificate?: { subject?: Record<string, unknown> };
}

/** Runs before every handler; throw an RmqError to refuse the call. */
export type CallGuard = (call: GuardedCall) => void;

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>;
type AnyHandler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * Wraps every handler of `handlers` so that `guard` runs first. Without a guard the handlers are
 * served as they are: no wrapper per call.
 */
export function guardHandlers<S extends GenServiceMethods>(
  service: GenService<S>,
  handlers: ServiceHandlers<S>,
  guard: CallGuard | undefined,
  log: ErrorLogger,
): ServiceHandlers<S> {
  if (!guard) return handlers;
  const guarded: Record<string, AnyHandler> = {};
  for (const method of service.methods) {
    const handler = (handlers as unknown as Record<string, AnyHandler>)[method.localName];
    const refuse = refusalOf(method.output, log);
    guarded[method.localName] = (call, callback) => {
      try {
        guard(new GuardedCallView(method.name, method.methodKind, call));
      } catch (error) {
        refuse(call, callback, error);
        return;
      }
      handler(call, callback);
    };
  }
  return guarded as unknown as ServiceHandlers<S>;
}

/** What a guard sees; the peer and its certificate are read only when a guard asks (a TLS certificate is parsed per read). */
class GuardedCallView implements GuardedCall {
  readonly metadata: grpc.Metadata;
  readonly request: unknown;

  constructor(
    readonly method: string,
    readonly kind: MethodKind,
    private readonly call: AnyCall,
  ) {
    this.metadata = call.metadata;
    this.request = 'request' in call ? call.request : undefined;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  get peerCertificate(): GuardedCall['peerCertificate'] {
    return peerCertificateOf(this.call);
  }
}

/** How a refused call of a method is answered. */
function refusalOf(output: DescMessage, log: ErrorLogger): (call: AnyCall, callback: grpc.sendUnaryData<unknown> | undefined, error: unknown) => void {
  const inBand = inBandStatusReply(output);
  return (call, callback, error) => {
    const rmqError = toRmqError(error, log);
    const reply = inBand?.(statusOf(rmqError));
    if (callback) {
      if (reply) callback(null, reply);
      else callback(toServiceError(rmqError) as grpc.ServiceError);
      return;
    }
    const stream = call as grpc.ServerWritableStream<unknown, unknown>;
    if (reply) {
      stream.write(reply);
      stream.end();
    } else {
      stream.emit('error', toServiceError(rmqError));
    }
  };
}

const STATUS_TYPE_NAME = 'apache.rocketmq.v2.Status';

/** A builder of a reply carrying only a status, when the reply has a Status field (directly or in a oneof). */
export function inBandStatusReply(output: DescMessage): ((status: MessageShape<DescMessage>) => MessageShape<DescMessage>) | undefined {
  const field = output.fields.find((f: DescField) => f.name === 'status' && f.message?.typeName === STATUS_TYPE_NAME);
  if (!field) return undefined;
  if (field.oneof) {
    const oneof = field.oneof.localName;
    return (status) => create(output, { [oneof]: { case: field.localName, value: status } } as never);
  }
  return (status) => create(output, { [field.localName]: status } as never);
}

function peerCertificateOf(call: AnyCall): GuardedCall['peerCertificate'] {
  const context = (call as { getAuthContext?: () => { sslPeerCertificate?: { subject?: Record<string, unknown> } } }).getAuthContext?.();
  return context?.sslPeerCertificate;
}
