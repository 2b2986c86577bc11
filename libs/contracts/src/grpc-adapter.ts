// Serves and calls a protoc-gen-es service with @grpc/grpc-js, typed from the generated
// descriptors: no proto-loader, no second set of generated stubs.
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { systemClock, type Clock } from '@rmq/base';
import { HOT_PATH_CODECS } from './fast-codec/rpc-codecs';

type In<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;
type InInit<M> = M extends { input: infer I extends DescMessage } ? MessageInitShape<I> : never;

/** The grpc-js handler type for each method of a generated service. */
export type ServiceHandlers<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]['methodKind'] extends 'unary'
    ? grpc.handleUnaryCall<In<S[K]>, Out<S[K]>>
    : S[K]['methodKind'] extends 'server_streaming'
      ? grpc.handleServerStreamingCall<In<S[K]>, Out<S[K]>>
      : S[K]['methodKind'] extends 'client_streaming'
        ? grpc.handleClientStreamingCall<In<S[K]>, Out<S[K]>>
        : grpc.handleBidiStreamingCall<In<S[K]>, Out<S[K]>>;
};

export interface CallOptions {
  deadlineMs?: number;
  metadata?: grpc.Metadata;
  signal?: AbortSignal;
  /** Unary calls: the server's response headers, before the reply. */
  onMetadata?: (metadata: grpc.Metadata) => void;
}

/** A promise-based client: unary calls resolve to the reply; streams are grpc-js streams. */
export type ServiceClient<S extends GenServiceMethods> = {
  [K in keyof S]: S[K]['methodKind'] extends 'unary'
    ? (request: InInit<S[K]>, options?: CallOptions) => Promise<Out<S[K]>>
    : S[K]['methodKind'] extends 'server_streaming'
      ? (request: InInit<S[K]>, options?: CallOptions) => grpc.ClientReadableStream<Out<S[K]>>
      : S[K]['methodKind'] extends 'client_streaming'
        ? (options?: CallOptions) => { stream: grpc.ClientWritableStream<In<S[K]>>; reply: Promise<Out<S[K]>> }
        : (options?: CallOptions) => grpc.ClientDuplexStream<In<S[K]>, Out<S[K]>>;
} & { close(): void; channel: grpc.Client };

export function serviceDefinition<S extends GenServiceMethods>(service: GenService<S>): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<MessageShape<DescMessage>, MessageShape<DescMessage>>> = {};
  for (const method of service.methods) {
    const path = `/${service.typeName}/${method.name}`;
    // The few messages every message passes through have a hand-written codec (fast-codec/).
    const hotPath = HOT_PATH_CODECS.get(path);
    definition[method.localName] = {
      path,
      originalName: method.name,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: (message: MessageShape<DescMessage>) => asBuffer(toBinary(method.input, message)),
      requestDeserialize: (hotPath?.requestDeserialize as (bytes: Buffer) => MessageShape<DescMessage>) ?? ((bytes: Buffer) => fromBinary(method.input, bytes)),
      responseSerialize: (hotPath?.responseSerialize as (message: MessageShape<DescMessage>) => Buffer) ?? ((message: MessageShape<DescMessage>) => asBuffer(toBinary(method.output, message))),
      responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    };
  }
  return definition;
}

export function addService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  handlers: ServiceHandlers<S>,
): void {
  server.addService(serviceDefinition(service), handlers as unknown as grpc.UntypedServiceImplementation);
}

/** Builds a reply message from a plain init object (nested messages included). */
export function reply<D extends DescMessage>(schema: D, init: MessageInitShape<D>): MessageShape<D> {
  return create(schema, init);
}

export function createClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  channelOptions: grpc.ChannelOptions = {},
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  /** Turns `deadlineMs` into grpc-js's absolute deadline (a wall-clock time, by gRPC's contract). */
  clock: Clock = systemClock,
): ServiceClient<S> {
  const Constructor = grpc.makeGenericClientConstructor(serviceDefinition(service), service.typeName);
  const raw = new Constructor(address, credentials, channelOptions) as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  const client: Record<string, unknown> = {
    close: () => (raw as unknown as grpc.Client).close(),
    channel: raw as unknown as grpc.Client,
  };
  for (const method of service.methods) {
    const call = raw[method.localName].bind(raw);
    const callOptionsOf = (options?: CallOptions): grpc.CallOptions =>
      options?.deadlineMs === undefined ? {} : { deadline: clock.nowMs() + options.deadlineMs };
    // Cancels the call when the signal aborts; the listener goes once the call is over, so one
    // long-lived signal can serve any number of calls.
    const withAbort = <T extends grpc.Call>(call: T, options?: CallOptions): T => {
      const signal = options?.signal;
      if (!signal) return call;
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      call.once('status', () => signal.removeEventListener('abort', cancel));
      return call;
    };
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = (request: MessageInitShape<DescMessage>, options?: CallOptions) =>
          new Promise((resolve, reject) => {
            const pending = call(
              create(method.input, request),
              options?.metadata ?? new grpc.Metadata(),
              callOptionsOf(options),
              (error: grpc.ServiceError | null, response: unknown) => (error ? reject(error) : resolve(response)),
            ) as grpc.ClientUnaryCall;
            if (options?.onMetadata) pending.on('metadata', options.onMetadata);
            withAbort(pending, options);
          });
        break;
      case 'server_streaming':
        client[method.localName] = (request: MessageInitShape<DescMessage>, options?: CallOptions) =>
          withAbort(
            call(create(method.input, request), options?.metadata ?? new grpc.Metadata(), callOptionsOf(options)) as grpc.ClientReadableStream<unknown>,
            options,
          );
        break;
      case 'client_streaming':
        client[method.localName] = (options?: CallOptions) => {
          let stream!: grpc.ClientWritableStream<unknown>;
          const replyPromise = new Promise((resolve, reject) => {
            stream = call(options?.metadata ?? new grpc.Metadata(), callOptionsOf(options), (error: grpc.ServiceError | null, response: unknown) =>
              error ? reject(error) : resolve(response),
            ) as grpc.ClientWritableStream<unknown>;
          });
          return { stream: withAbort(stream, options), reply: replyPromise };
        };
        break;
      case 'bidi_streaming':
        client[method.localName] = (options?: CallOptions) =>
          withAbort(call(options?.metadata ?? new grpc.Metadata(), callOptionsOf(options)) as grpc.ClientDuplexStream<unknown, unknown>, options);
        break;
    }
  }
  return client as ServiceClient<S>;
}

/** Starts a server on host:port (port 0 picks a free one) and resolves to the bound port; plaintext unless credentials say TLS. */
export function listen(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
}

/** Stops accepting calls, lets running ones finish for up to `graceMs`, then cuts the rest. */
/**
 * A call that failed on its way (the server down or restarting, the connection dropped: grpc-js
 * says UNAVAILABLE, INTERNAL or UNKNOWN): worth trying the next server. A deadline or a cancel is final.
 */
export function isRetryableElsewhere(error: unknown): boolean {
  const code = (error as Partial<grpc.ServiceError> | undefined)?.code;
  return code === grpc.status.UNAVAILABLE || code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN;
}

export function shutdownServer(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
