// Handler tables for our internal services: each RPC is a plain async function; validation
// errors and surprises are mapped to gRPC statuses once, here.
import type * as grpc from '@grpc/grpc-js';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { ServiceHandlers } from './grpc-adapter';
import { toRmqError, toServiceError, type ErrorLogger } from './status';

type In<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;

type UnaryMethods<S extends GenServiceMethods> = {
  [K in keyof S as S[K]['methodKind'] extends 'unary' ? K : never]: S[K];
};

export type UnaryImplementation<S extends GenServiceMethods> = {
  [K in keyof UnaryMethods<S>]: (request: In<S[K]>, call: grpc.ServerUnaryCall<In<S[K]>, Out<S[K]>>) => Promise<Out<S[K]>>;
};

/** Wraps a table of async functions into grpc-js handlers for a unary-only service. */
export function unaryHandlers<S extends GenServiceMethods>(
  implementation: UnaryImplementation<S>,
  log: ErrorLogger,
): ServiceHandlers<S> {
  const handlers: Record<string, grpc.handleUnaryCall<unknown, unknown>> = {};
  for (const [name, fn] of Object.entries(implementation) as [string, (req: unknown, call: unknown) => Promise<unknown>][]) {
    handlers[name] = (call, callback) => {
      fn(call.request, call).then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(toRmqError(error, log)) as grpc.ServiceError),
      );
    };
  }
  return handlers as unknown as ServiceHandlers<S>;
}
