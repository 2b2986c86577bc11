// apache.rocketmq.v2.MessagingService on the name server's port, so that RocketMQ 5 clients can
// use a name server as their access point: it outlives any one broker. Clients ask their access
// point only for routes (QueryRoute) and, in the Node client, RecallMessage (sent on to the master
// of the broker group the recall handle names: recall-relay.ts) and SyncLiteSubscription;
// everything else goes to the brokers the route names, and gets a clear NOT_IMPLEMENTED here.
// Routes are mapped as the brokers map them (routeQueues in @rmq/routing).
import type * as grpc from '@grpc/grpc-js';
import { nameProblem, RmqError, TOPIC_NAME_LENGTH_MAX } from '@rmq/base';
import { create, inBand, messageQueueToWire, statusOf, v2, type ServiceHandlers } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import { preferZone, routeQueues, type RouteRegistry } from '@rmq/routing';
import type { NameServerMetrics } from './name-server-metrics';
import type { RecallRelay } from './recall-relay';

type Service = typeof v2.MessagingService.method;

export interface AccessPointDeps {
  routes: RouteRegistry;
  log: Logger;
  metrics: NameServerMetrics;
  recalls: RecallRelay;
}

export function accessPointService({ routes, log, metrics, recalls }: AccessPointDeps): ServiceHandlers<Service> {
  const observe = (method: string, code: v2.Code) => metrics.clientRequests.inc({ method, code: v2.Code[code] ?? String(code) });
  const unary = <D extends Parameters<typeof inBand>[1]>(method: string, schema: D, error: () => RmqError) =>
    inBand(method, schema, async () => {
      throw error();
    }, log, observe);
  const notABroker = (method: string) => () => new RmqError('NOT_A_BROKER', { method });
  const unsupported = (feature: string) => () => new RmqError('UNSUPPORTED', { feature });
  const streamRefusal = <Res>(method: string, frame: (status: v2.Status) => Res): grpc.handleServerStreamingCall<unknown, Res> => (call) => {
    const status = statusOf(new RmqError('NOT_A_BROKER', { method }));
    observe(method, status.code);
    call.write(frame(status));
    call.end();
  };

  return {
    queryRoute: inBand('QueryRoute', v2.QueryRouteResponseSchema, async (request: v2.QueryRouteRequest, context) => {
      const name = request.topic?.name ?? '';
      const problem = nameProblem(name, TOPIC_NAME_LENGTH_MAX);
      if (problem) throw new RmqError('ILLEGAL_TOPIC', { topic: JSON.stringify(name), reason: problem });
      const queues = routeQueues(routes.routeOf(name));
      if (queues.length === 0) throw new RmqError('TOPIC_NOT_FOUND', { topic: name });
      // A client of ours that declares its zone is offered its zone's entries for writing, as by the brokers.
      const namespace = request.topic?.resourceNamespace ?? '';
      return { messageQueues: preferZone(queues, context.zone).map((queue) => messageQueueToWire(name, namespace, queue)) };
    }, log, observe),

    // The broker's reply (its status included) is relayed as it is.
    recallMessage: (call, callback) => inBand('RecallMessage', v2.RecallMessageResponseSchema, (request: v2.RecallMessageRequest, context) =>
      recalls.recall(request, call as grpc.ServerUnaryCall<unknown, unknown>, context.signal) as Promise<Omit<v2.RecallMessageResponse, 'status'>>, log, observe)(call, callback),
    syncLiteSubscription: unary('SyncLiteSubscription', v2.SyncLiteSubscriptionResponseSchema, unsupported('lite topics')),

    heartbeat: unary('Heartbeat', v2.HeartbeatResponseSchema, notABroker('Heartbeat')),
    sendMessage: unary('SendMessage', v2.SendMessageResponseSchema, notABroker('SendMessage')),
    queryAssignment: unary('QueryAssignment', v2.QueryAssignmentResponseSchema, notABroker('QueryAssignment')),
    ackMessage: unary('AckMessage', v2.AckMessageResponseSchema, notABroker('AckMessage')),
    forwardMessageToDeadLetterQueue: unary('ForwardMessageToDeadLetterQueue', v2.ForwardMessageToDeadLetterQueueResponseSchema, notABroker('ForwardMessageToDeadLetterQueue')),
    updateOffset: unary('UpdateOffset', v2.UpdateOffsetResponseSchema, notABroker('UpdateOffset')),
    getOffset: unary('GetOffset', v2.GetOffsetResponseSchema, notABroker('GetOffset')),
    queryOffset: unary('QueryOffset', v2.QueryOffsetResponseSchema, notABroker('QueryOffset')),
    endTransaction: unary('EndTransaction', v2.EndTransactionResponseSchema, notABroker('EndTransaction')),
    notifyClientTermination: unary('NotifyClientTermination', v2.NotifyClientTerminationResponseSchema, notABroker('NotifyClientTermination')),
    changeInvisibleDuration: unary('ChangeInvisibleDuration', v2.ChangeInvisibleDurationResponseSchema, notABroker('ChangeInvisibleDuration')),
    receiveMessage: streamRefusal('ReceiveMessage', (status) => create(v2.ReceiveMessageResponseSchema, { content: { case: 'status', value: status } })),
    pullMessage: streamRefusal('PullMessage', (status) => create(v2.PullMessageResponseSchema, { content: { case: 'status', value: status } })),
    telemetry: (call) => {
      const status = statusOf(new RmqError('NOT_A_BROKER', { method: 'Telemetry' }));
      observe('Telemetry', status.code);
      call.write(create(v2.TelemetryCommandSchema, { status }));
      call.end();
    },
  };
}
