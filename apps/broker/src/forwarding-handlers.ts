// MessagingService as a slave serves it: the calls only the master can serve (sends, receives,
// acks, invisible-time changes, dead-lettering, assignments, transactions, offsets ...) go to the
// master through the MasterForwarder; QueryRoute, Heartbeat, NotifyClientTermination and
// Telemetry are answered here, because the client sends them to every endpoint of its route (the
// master gets its own copy) and a slave that knows the group's members can assign at once when
// promoted. The role is read on every call, so a promotion takes effect at the next one.
import type * as grpc from '@grpc/grpc-js';
import { RmqError } from '@rmq/base';
import { create, statusOf, v2, type ServiceHandlers } from '@rmq/contracts';
import type { DescMessage } from '@bufbuild/protobuf';
import { FORWARDED_BY_HEADER, type MasterForwarder } from './master-forwarder';
import type { RoleProvider } from './role-provider';

type Service = typeof v2.MessagingService.method;
type Handlers = ServiceHandlers<Service>;
type AnyUnary = grpc.handleUnaryCall<unknown, unknown>;

/** Answered by every broker itself, master or slave. PullMessage is unsupported everywhere. */
export const SERVED_BY_EVERY_BROKER: ReadonlySet<string> = new Set(['queryRoute', 'heartbeat', 'notifyClientTermination', 'telemetry', 'pullMessage']);

export interface ForwardingDeps {
  roles: RoleProvider;
  forwarder: MasterForwarder;
  brokerName: string;
  /** Counts a forwarded call this broker refused because it is not master (the sender waits for the next one). */
  onRefused: (method: string) => void;
}

export function withForwarding(local: Handlers, deps: ForwardingDeps): Handlers {
  const handlers: Record<string, unknown> = { ...local };
  for (const method of v2.MessagingService.methods) {
    const name = method.localName as keyof Handlers & string;
    if (SERVED_BY_EVERY_BROKER.has(name)) continue;
    if (method.methodKind === 'unary') handlers[name] = forwardUnary(name, method.output, local[name] as unknown as AnyUnary, deps);
  }
  handlers.receiveMessage = forwardReceive(local.receiveMessage, deps);
  return handlers as Handlers;
}

function notMaster(deps: ForwardingDeps): v2.Status {
  return statusOf(new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.roles.current().epoch }));
}

function isForwarded(call: { metadata: grpc.Metadata }): boolean {
  return call.metadata.get(FORWARDED_BY_HEADER).length > 0;
}

function forwardUnary(name: string, output: DescMessage, local: AnyUnary, deps: ForwardingDeps): AnyUnary {
  const reply = (status: v2.Status) => create(output, { status } as never) as { status?: v2.Status };
  return (call, callback) => {
    if (deps.roles.current().role === 'master') return local(call, callback);
    if (isForwarded(call)) {
      deps.onRefused(name);
      return callback(null, reply(notMaster(deps)));
    }
    deps.forwarder.unary(name as keyof Service & string, call.request, call, reply).then(
      (result) => (result.kind === 'local' ? local(call, callback) : callback(null, result.reply)),
      (error: unknown) => callback(error as grpc.ServiceError),
    );
  };
}

function forwardReceive(local: Handlers['receiveMessage'], deps: ForwardingDeps): Handlers['receiveMessage'] {
  return (call) => {
    if (deps.roles.current().role === 'master') return local(call);
    if (isForwarded(call)) {
      deps.onRefused('receiveMessage');
      call.write(create(v2.ReceiveMessageResponseSchema, { content: { case: 'status', value: notMaster(deps) } }));
      call.end();
      return;
    }
    deps.forwarder.receive(call).then(
      (result) => {
        if (result === 'local') local(call);
      },
      (error: unknown) => call.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  };
}
