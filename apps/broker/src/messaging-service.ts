// apache.rocketmq.v2.MessagingService: one function per RPC, registered in one table. Each
// turns the wire request into domain calls and back; failures become the reply's status
// through `inBand` (unary) or a final status frame (ReceiveMessage).
import type * as grpc from '@grpc/grpc-js';
import { callContextOf, create, durationMs, inBand, messageQueueToWire, okStatus, SendMessageReply, sendRequestColumns, statusOf, timestampMs, toRmqError, v2, type CallContext, type SendRequestColumns, type ServiceHandlers } from '@rmq/contracts';
import { DLQ_TOPIC_PREFIX, GROUP_NAME_LENGTH_MAX, latencyProbe, nameProblem, RmqError, type Clock } from '@rmq/base';
import { assignQueues, preferZone, routeQueues, type GroupMembership, type MemberKind } from '@rmq/routing';
import {
  fromStoredRecord,
  MESSAGING_LIMITS,
  parseSqlFilter,
  parseTagExpression,
  PERM_READ,
  SYSTEM_PROPERTY,
  type ConsumerService,
  type GroupRegistry,
  type OutgoingMessage,
  type ProducerService,
  type PullService,
  type SendResult,
  type TopicRegistry,
} from '@rmq/messaging';
import type { Logger } from '@rmq/observability';
import { DeliveryFrame } from './delivery-frame';
import { ackMessageReply, fromWireColumns, toWireMessage } from './message-codec';
import type { RouteResolver } from './route-resolver';
import { telemetryHandler } from './telemetry-handler';
import type { BrokerPermission } from './broker-permission';
import type { BrokerMetrics } from './broker-metrics';
import type { ProducerStreams } from './producer-streams';
import type { ModelServices } from './model-services';
import type { MessageTracing } from './message-tracing';
import type { ClientMetrics } from './client-metrics';

export interface MessagingDeps {
  topics: TopicRegistry;
  producer: ProducerService;
  consumer: ConsumerService;
  routes: RouteResolver;
  log: Logger;
  metrics: BrokerMetrics;
  tracing: MessageTracing;
  clientMetrics: ClientMetrics;
  /** This broker's client endpoint, host:port. */
  endpoint: string;
  isMaster: () => boolean;
  /** Throws when a send must be refused for the replica group (too few in-sync replicas). */
  requireInSync?: () => void;
  brokerName: string;
  epoch: () => number;
  /** Consumer groups and their settings (retry policy, attempts, FIFO, broadcast). */
  groups: GroupRegistry;
  /** Long-polling time told to push consumers. */
  pushLongPollingMs: number;
  /** Invisible duration of a receive that does not give one (push consumers). */
  pushInvisibleMs: number;
  /** Creates a topic on first use when auto-create is on; undefined when it is off. */
  autoCreateTopic?: (name: string) => Promise<void>;
  /** Consumer group members as this broker hears them (heartbeats, telemetry, terminations). */
  membership: GroupMembership;
  clock: Clock;
  /** The broker-wide permission: sends and receives it does not allow are refused. */
  permission: BrokerPermission;
  /** Delay and transactional messages (running while this broker leads). */
  model: ModelServices;
  pulls: PullService;
  /** Producers' Telemetry streams (transaction checks go through them). */
  producerStreams: ProducerStreams;
}

type Service = typeof v2.MessagingService.method;

export function messagingService(deps: MessagingDeps): ServiceHandlers<Service> {
  const { log } = deps;
  const observe = (method: string, code: v2.Code, durationMsValue: number) => deps.metrics.observeRpc(method, code, durationMsValue);
  const unsupported = (feature: string) => async () => {
    throw new RmqError('UNSUPPORTED', { feature });
  };

  const topicFor = async (name: string) => {
    const known = deps.topics.get(name);
    if (known || !deps.autoCreateTopic || nameProblem(name, 127)) return deps.topics.require(name);
    await deps.autoCreateTopic(name);
    return deps.topics.require(name);
  };

  return {
    queryRoute: inBand('QueryRoute', v2.QueryRouteResponseSchema, async (request: v2.QueryRouteRequest, context) => {
      const name = request.topic?.name ?? '';
      const local = deps.topics.get(name) ?? (deps.autoCreateTopic ? await topicFor(name) : undefined);
      const queues = routeQueues(await deps.routes.resolve(name, local));
      if (queues.length === 0) deps.topics.require(name); // throws TOPIC_NOT_FOUND or ILLEGAL_TOPIC
      // A client that declares its zone is offered that zone's brokers for writing, while one is writable.
      const namespace = request.topic?.resourceNamespace ?? '';
      return { messageQueues: preferZone(queues, context.zone).map((queue) => messageQueueToWire(name, namespace, queue)) };
    }, log, observe),

    heartbeat: inBand('Heartbeat', v2.HeartbeatResponseSchema, async (request: v2.HeartbeatRequest, context) => {
      if (noteMember(deps, request.group?.name, context.clientId, request.clientType)) await deps.groups.ensure(request.group!.name);
      // A live client: its push deliveries keep being renewed.
      if (context.clientId) deps.consumer.clientSeen(context.clientId);
      return {};
    }, log, observe),

    // Not an async function: its frame would hold the request and the messages until the reply,
    // through the fdatasync; what waits for the append keeps only what the reply needs.
    // The hot-path decoder gives the request by column (send-request.ts); the reply is encoded from the results (send-reply.ts).
    sendMessage: inBand('SendMessage', v2.SendMessageResponseSchema, (request: v2.SendMessageRequest | SendRequestColumns, context) => {
      try {
        const messages = acceptedMessages(deps, request);
        // A known topic costs no await (one per call at one message per call).
        if (messages.every((message) => deps.topics.get(message.topic) !== undefined)) return sendAccepted(deps, messages, context);
        return (async () => {
          for (const message of messages) if (!deps.topics.get(message.topic)) await topicFor(message.topic);
        })().then(() => sendAccepted(deps, messages, context));
      } catch (error) {
        return Promise.reject(error);
      }
    }, log, observe),

    queryAssignment: inBand('QueryAssignment', v2.QueryAssignmentResponseSchema, async (request: v2.QueryAssignmentRequest, context) => {
      const group = requireGroup(request.group?.name);
      const settings = await deps.groups.ensure(group);
      const name = request.topic?.name ?? '';
      const namespace = request.topic?.resourceNamespace ?? '';
      // The masters' queues: a slave's queue-0 entry is a door to its master, not a queue of its own.
      const queues = routeQueues(await deps.routes.resolve(name, deps.topics.get(name))).filter((queue) => queue.routeBrokerId === 0 && (queue.perm & PERM_READ) !== 0);
      if (queues.length === 0) deps.topics.require(name);
      // The group's push members share the queues; without a client id (not an official
      // client) the caller gets every queue and the broker still hands each message out once.
      // In a broadcast group every member reads every queue.
      let assigned = queues;
      if (context.clientId && settings.consumeType !== 'broadcast') {
        deps.membership.seen(group, context.clientId, 'push', deps.clock.nowMs()); // the caller is alive
        assigned = assignQueues(queues, deps.membership.members(group, deps.clock.nowMs(), 'push')).get(context.clientId) ?? [];
      }
      return { assignments: assigned.map((queue) => ({ messageQueue: messageQueueToWire(name, namespace, queue) })) };
    }, log, observe),

    receiveMessage: receiveHandler(deps),

    ackMessage: inBand('AckMessage', v2.AckMessageResponseSchema, async (request: v2.AckMessageRequest, context) => {
      const group = requireGroup(request.group?.name);
      const topic = request.topic?.name ?? '';
      if (request.entries.length === 0) throw new RmqError('BAD_REQUEST', { reason: 'the request has no entries to acknowledge' });
      if (request.entries.length > MESSAGING_LIMITS.ackEntriesMax) {
        throw new RmqError('BAD_REQUEST', { reason: `a request may acknowledge at most ${MESSAGING_LIMITS.ackEntriesMax} messages, this one has ${request.entries.length}` });
      }
      // The entries' acks are recorded together (one state record) and answered once durable.
      const entries = request.entries;
      const handles = new Array<string>(entries.length);
      for (let i = 0; i < entries.length; i++) handles[i] = entries[i].receiptHandle;
      const errors = await deps.consumer.ackAll(group, topic, handles, context.clientId);
      if (deps.tracing.enabled) for (let i = 0; i < entries.length; i++) deps.tracing.acked(topic, group, entries[i].messageId, errors?.[i]);
      const statuses = errors?.map((error) => (error === undefined ? undefined : statusOf(toRmqError(error, (m, f) => log.error(m, f)))));
      return ackMessageReply(entries, statuses);
    }, log, observe),

    forwardMessageToDeadLetterQueue: inBand('ForwardMessageToDeadLetterQueue', v2.ForwardMessageToDeadLetterQueueResponseSchema, async (request: v2.ForwardMessageToDeadLetterQueueRequest, context) => {
      const group = requireGroup(request.group?.name);
      await deps.consumer.forwardToDeadLetter(group, request.topic?.name ?? '', request.receiptHandle, context.clientId);
      return {};
    }, log, observe),

    changeInvisibleDuration: inBand('ChangeInvisibleDuration', v2.ChangeInvisibleDurationResponseSchema, async (request: v2.ChangeInvisibleDurationRequest, context) => {
      const group = requireGroup(request.group?.name);
      if (!request.invisibleDuration) throw new RmqError('BAD_REQUEST', { reason: 'invisible_duration is required' });
      const receiptHandle = await deps.consumer.changeInvisibleDuration(group, request.topic?.name ?? '', request.receiptHandle, durationMs(request.invisibleDuration), context.clientId);
      return { receiptHandle };
    }, log, observe),

    notifyClientTermination: inBand('NotifyClientTermination', v2.NotifyClientTerminationResponseSchema, async (_request: v2.NotifyClientTerminationRequest, context) => {
      if (context.clientId) {
        deps.membership.left(context.clientId);
        deps.consumer.clientGone(context.clientId);
      }
      return {};
    }, log, observe),

    telemetry: telemetryHandler({
      log,
      bodySizeBytesMax: MESSAGING_LIMITS.bodySizeBytesMax,
      groupSettings: (name) => deps.groups.settingsOf(name),
      isFifoTopic: (name) => deps.topics.get(name)?.messageType === 'FIFO',
      longPollingMs: deps.pushLongPollingMs,
      onSettings: (clientId, settings) => {
        const group = settings.pubSub.case === 'subscription' ? settings.pubSub.value.group?.name : undefined;
        deps.clientMetrics.connected(clientId, settings);
        if (noteMember(deps, group, clientId, settings.clientType)) {
          deps.groups.ensure(group!).catch((error: unknown) => log.warn('could not create consumer group on first use', { group, error }));
        }
      },
      onClosed: (clientId) => {
        deps.clientMetrics.closed(clientId);
        deps.membership.left(clientId);
      },
      producers: deps.producerStreams,
    }),

    endTransaction: inBand('EndTransaction', v2.EndTransactionResponseSchema, async (request: v2.EndTransactionRequest) => {
      if (!deps.isMaster()) throw new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.epoch() });
      const resolution = request.resolution === v2.TransactionResolution.COMMIT ? 'COMMIT' : request.resolution === v2.TransactionResolution.ROLLBACK ? 'ROLLBACK' : undefined;
      if (!resolution) throw new RmqError('BAD_REQUEST', { reason: 'resolution must be COMMIT (1) or ROLLBACK (2)' });
      await deps.model.requireTransactions().end(request.topic?.name ?? '', request.messageId, request.transactionId, resolution);
      return {};
    }, log, observe),
    recallMessage: inBand('RecallMessage', v2.RecallMessageResponseSchema, async (request: v2.RecallMessageRequest) => {
      if (!deps.isMaster()) throw new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.epoch() });
      deps.permission.requireWrite(deps.brokerName);
      const topic = deps.topics.require(request.topic?.name ?? '').name;
      return deps.model.requireTimers().recall(topic, request.recallHandle);
    }, log, observe),
    updateOffset: inBand('UpdateOffset', v2.UpdateOffsetResponseSchema, async (request: v2.UpdateOffsetRequest) => {
      const group = requireGroup(request.group?.name);
      await deps.pulls.updateOffset(group, request.messageQueue?.topic?.name ?? '', request.messageQueue?.id ?? 0, Number(request.offset));
      return {};
    }, log, observe),
    getOffset: inBand('GetOffset', v2.GetOffsetResponseSchema, async (request: v2.GetOffsetRequest) => {
      const group = requireGroup(request.group?.name);
      return { offset: BigInt(deps.pulls.getOffset(group, request.messageQueue?.topic?.name ?? '', request.messageQueue?.id ?? 0)) };
    }, log, observe),
    queryOffset: inBand('QueryOffset', v2.QueryOffsetResponseSchema, async (request: v2.QueryOffsetRequest) => {
      const policy = request.queryOffsetPolicy === v2.QueryOffsetPolicy.END ? 'END' : request.queryOffsetPolicy === v2.QueryOffsetPolicy.TIMESTAMP ? 'TIMESTAMP' : 'BEGINNING';
      if (policy === 'TIMESTAMP' && !request.timestamp) throw new RmqError('BAD_REQUEST', { reason: 'QueryOffset by TIMESTAMP needs a timestamp' });
      const offset = await deps.pulls.queryOffset(request.messageQueue?.topic?.name ?? '', request.messageQueue?.id ?? 0, policy, request.timestamp ? timestampMs(request.timestamp) : 0);
      return { offset: BigInt(offset) };
    }, log, observe),
    syncLiteSubscription: inBand('SyncLiteSubscription', v2.SyncLiteSubscriptionResponseSchema, unsupported('lite topics'), log, observe),
    pullMessage: pullHandler(deps),
  };
}

/** A receive's last frame, as create() makes it (without its walk of the schema, once per receive). */
function receiveStatusFrame(status: v2.Status): v2.ReceiveMessageResponse {
  return { $typeName: 'apache.rocketmq.v2.ReceiveMessageResponse', content: { case: 'status', value: status } };
}

/** Debug only (latency probe): the log offsets of a receive's frames. */
const deliveredOffsets = new WeakMap<object, number[]>();

function receiveHandler(deps: MessagingDeps): grpc.handleServerStreamingCall<v2.ReceiveMessageRequest, v2.ReceiveMessageResponse> {
  return (call) => {
    const startedMs = performance.now();
    const context = callContextOf(call as unknown as grpc.ServerWritableStream<unknown, unknown>);
    const finish = (status: v2.Status) => {
      deps.metrics.observeRpc('ReceiveMessage', status.code, performance.now() - startedMs);
      if (call.writableEnded || call.destroyed) return;
      call.write(receiveStatusFrame(status));
      call.end();
    };
    receive(call.request, context, deps).then(
      (messages) => {
        if (context.signal.aborted) return;
        // The ReceiveMessage serializer has each frame encode itself from its record's bytes (delivery-frame.ts).
        for (const frame of messages) call.write(frame as unknown as v2.ReceiveMessageResponse);
        if (latencyProbe.enabled) for (const logOffset of deliveredOffsets.get(messages) ?? []) latencyProbe.mark(logOffset, 'framesWritten');
        finish(messages.length > 0 ? okStatus() : { $typeName: 'apache.rocketmq.v2.Status', code: v2.Code.MESSAGE_NOT_FOUND, message: 'no new message within the long-polling time' });
      },
      (error: unknown) => finish(statusOf(toRmqError(error, (m, f) => deps.log.error(m, { ...f, method: 'ReceiveMessage', clientId: context.clientId, requestId: context.requestId })))),
    );
  };
}

async function receive(request: v2.ReceiveMessageRequest, context: CallContext, deps: MessagingDeps): Promise<DeliveryFrame[]> {
  const startedAtMs = Date.now();
  // A delivery is recorded in the state journal, which only a master writes (a broker the role
  // machine just named master serves calls before its journal takes writes): the client retries.
  if (!deps.isMaster()) throw new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.epoch() });
  const group = requireGroup(request.group?.name);
  if (!deps.groups.get(group)) await deps.groups.ensure(group); // a known group costs no await
  deps.permission.requireRead(deps.brokerName);
  const topic = request.messageQueue?.topic?.name ?? '';
  const namespace = request.messageQueue?.topic?.resourceNamespace ?? '';
  const expression = request.filterExpression;
  const filter = expression?.type === v2.FilterType.SQL ? parseSqlFilter(expression.expression) : parseTagExpression(expression?.expression ?? '*');
  if (request.batchSize < 0 || request.batchSize > MESSAGING_LIMITS.receiveBatchCountMax) {
    throw new RmqError('BAD_REQUEST', { reason: `batch size must be between 1 and ${MESSAGING_LIMITS.receiveBatchCountMax}, got ${request.batchSize}` });
  }
  // The push consumer never says: it gets --push-invisible-ms, renewed while it is alive.
  // Checked by the consumer, against the least this consumer may ask for.
  const invisibleMs = request.invisibleDuration ? durationMs(request.invisibleDuration) : deps.pushInvisibleMs;
  const longPollingMs = request.longPollingTimeout ? durationMs(request.longPollingTimeout) : MESSAGING_LIMITS.longPollingMsDefault;
  if (longPollingMs < MESSAGING_LIMITS.longPollingMsMin || longPollingMs > MESSAGING_LIMITS.longPollingMsMax) {
    throw new RmqError('ILLEGAL_POLLING_TIME', { durationMs: longPollingMs, minMs: MESSAGING_LIMITS.longPollingMsMin, maxMs: MESSAGING_LIMITS.longPollingMsMax });
  }
  const deliveries = await deps.consumer.receive({
    group,
    topic,
    filter,
    countMax: request.batchSize || 32,
    invisibleMs,
    longPollingMs,
    push: request.autoRenew,
    clientId: context.clientId,
    signal: context.signal,
    // A PushConsumer reads the queue QueryAssignment gave it; a SimpleConsumer names queue 0
    // of each broker but reads the whole broker (server-side balancing).
    queueId: isPushMember(deps, group, context.clientId, request) ? request.messageQueue?.id : undefined,
    pushQueueId: request.autoRenew ? request.messageQueue?.id : undefined,
  });
  let sizeBytes = 0;
  const frames = deliveries.map((delivery) => {
    sizeBytes += delivery.record.bodyLength;
    return new DeliveryFrame(delivery.record, delivery.receiptHandle, delivery.deliveryAttempt, delivery.invisibleMs, deps.endpoint, namespace);
  });
  if (latencyProbe.enabled) deliveredOffsets.set(frames, deliveries.map(({ record }) => record.logOffset));
  deps.metrics.messagesOut(topic, group, frames.length, sizeBytes);
  if (deps.tracing.enabled && deliveries.length > 0) {
    deps.tracing.delivered(topic, group, startedAtMs, context.traceparent, deliveries.map(({ record, deliveryAttempt }) => ({
      messageId: record.properties.get(SYSTEM_PROPERTY.messageId) ?? '', traceContext: record.properties.get(SYSTEM_PROPERTY.traceContext), deliveryAttempt,
    })));
  }
  return frames;
}

function pullHandler(deps: MessagingDeps): grpc.handleServerStreamingCall<v2.PullMessageRequest, v2.PullMessageResponse> {
  return (call) => {
    const startedMs = performance.now();
    const context = callContextOf(call as unknown as grpc.ServerWritableStream<unknown, unknown>);
    const frame = (content: v2.PullMessageResponse['content']) => {
      if (!call.writableEnded && !call.destroyed) call.write(create(v2.PullMessageResponseSchema, { content }));
    };
    const finish = (status: v2.Status) => {
      deps.metrics.observeRpc('PullMessage', status.code, performance.now() - startedMs);
      frame({ case: 'status', value: status });
      if (!call.writableEnded && !call.destroyed) call.end();
    };
    pull(call.request, context, deps).then(
      ({ messages, nextOffset }) => {
        if (context.signal.aborted) return;
        for (const message of messages) frame({ case: 'message', value: message });
        frame({ case: 'nextOffset', value: BigInt(nextOffset) });
        finish(messages.length > 0 ? okStatus() : create(v2.StatusSchema, { code: v2.Code.MESSAGE_NOT_FOUND, message: 'no new message within the long-polling time' }));
      },
      (error: unknown) => finish(statusOf(toRmqError(error, (m, f) => deps.log.error(m, { ...f, method: 'PullMessage', clientId: context.clientId, requestId: context.requestId })))),
    );
  };
}

async function pull(request: v2.PullMessageRequest, context: CallContext, deps: MessagingDeps): Promise<{ messages: v2.Message[]; nextOffset: number }> {
  const group = requireGroup(request.group?.name);
  deps.permission.requireRead(deps.brokerName);
  const topic = request.messageQueue?.topic?.name ?? '';
  const namespace = request.messageQueue?.topic?.resourceNamespace ?? '';
  const expression = request.filterExpression;
  const filter = expression?.type === v2.FilterType.SQL ? parseSqlFilter(expression.expression) : parseTagExpression(expression?.expression ?? '*');
  if (request.batchSize < 0 || request.batchSize > MESSAGING_LIMITS.receiveBatchCountMax) {
    throw new RmqError('BAD_REQUEST', { reason: `batch size must be between 1 and ${MESSAGING_LIMITS.receiveBatchCountMax}, got ${request.batchSize}` });
  }
  const longPollingMs = request.longPollingTimeout ? durationMs(request.longPollingTimeout) : 0;
  if (longPollingMs < MESSAGING_LIMITS.longPollingMsMin || longPollingMs > MESSAGING_LIMITS.longPollingMsMax) {
    throw new RmqError('ILLEGAL_POLLING_TIME', { durationMs: longPollingMs, minMs: MESSAGING_LIMITS.longPollingMsMin, maxMs: MESSAGING_LIMITS.longPollingMsMax });
  }
  const result = await deps.pulls.pull({
    topic, queueId: request.messageQueue?.id ?? 0, queueOffset: Number(request.offset), countMax: request.batchSize || 32, filter, longPollingMs, signal: context.signal,
  });
  let sizeBytes = 0;
  const messages = result.records.map((record) => {
    const message = fromStoredRecord(record);
    sizeBytes += message.body.byteLength;
    return toWireMessage(message, { receiptHandle: '', deliveryAttempt: 1, invisibleMs: 0, storeHost: deps.endpoint }, namespace);
  });
  deps.metrics.messagesOut(topic, group, messages.length, sizeBytes);
  return { messages, nextOffset: result.nextQueueOffset };
}

/** A SendMessage request's messages in domain terms, or the first reason to refuse it. */
function acceptedMessages(deps: MessagingDeps, request: v2.SendMessageRequest | SendRequestColumns): OutgoingMessage[] {
  if (!deps.isMaster()) throw new RmqError('NOT_MASTER', { brokerName: deps.brokerName, epoch: deps.epoch() });
  deps.requireInSync?.();
  deps.permission.requireWrite(deps.brokerName);
  const columns = sendRequestColumns(request);
  const count = columns.count;
  if (count === 0) throw new RmqError('BAD_REQUEST', { reason: 'the request has no messages' });
  if (count > MESSAGING_LIMITS.sendMessagesMax) {
    throw new RmqError('BAD_REQUEST', { reason: `a request may carry at most ${MESSAGING_LIMITS.sendMessagesMax} messages, this one has ${count}` });
  }
  const messages = new Array<OutgoingMessage>(count);
  for (let i = 0; i < count; i++) messages[i] = fromWireColumns(columns, i);
  const deadLetter = messages.find((message) => message.topic.startsWith(DLQ_TOPIC_PREFIX));
  if (deadLetter) throw new RmqError('BAD_REQUEST', { reason: `${deadLetter.topic} is a dead-letter topic: only the broker writes to it` });
  return messages;
}

/** Stores valid messages of known topics; the reply waits for them with the metrics' tally, not the messages. */
function sendAccepted(deps: MessagingDeps, messages: OutgoingMessage[], context: CallContext): Promise<v2.SendMessageResponse> {
  const tally = tallyMessagesIn(messages);
  // (A closure here that captured the messages would keep them through the wait: tracing's is made apart.)
  const sending = deps.tracing.enabled ? tracedSend(deps, messages, context) : deps.producer.send(messages);
  return sending.then((results) => {
    countMessagesIn(deps.metrics, tally);
    // Encoded from the results as they are (send-reply.ts); inBand takes it as a complete reply.
    return new SendMessageReply(results) as unknown as v2.SendMessageResponse;
  });
}

function tracedSend(deps: MessagingDeps, messages: OutgoingMessage[], context: CallContext): Promise<SendResult[]> {
  return deps.tracing.send(messages, context.traceparent, () => deps.producer.send(messages));
}

interface MessagesInTally {
  topic: string;
  messageType: string;
  sizesBytes: number[];
}

function countMessagesIn(metrics: BrokerMetrics, tally: readonly MessagesInTally[]): void {
  for (const { topic, messageType, sizesBytes } of tally) metrics.messagesIn(topic, messageType, sizesBytes);
}

/** Counts a request's messages by topic and type: the counters move once per topic and type, not per message. */
function tallyMessagesIn(messages: readonly OutgoingMessage[]): MessagesInTally[] {
  if (messages.length === 1) return [{ topic: messages[0].topic, messageType: messages[0].messageType, sizesBytes: [messages[0].body.byteLength] }];
  // A request usually carries one topic and type: a short list, not a Map with a key string per message.
  const groups: MessagesInTally[] = [];
  let group: (typeof groups)[number] | undefined;
  for (const message of messages) {
    if (group?.topic !== message.topic || group.messageType !== message.messageType) {
      group = groups.find((known) => known.topic === message.topic && known.messageType === message.messageType);
      if (!group) groups.push((group = { topic: message.topic, messageType: message.messageType, sizesBytes: [] }));
    }
    group.sizesBytes.push(message.body.byteLength);
  }
  return groups;
}

function requireGroup(name: string | undefined): string {
  const problem = nameProblem(name ?? '', GROUP_NAME_LENGTH_MAX);
  if (problem) throw new RmqError('ILLEGAL_CONSUMER_GROUP', { group: JSON.stringify(name ?? ''), reason: problem });
  return name!;
}

const MEMBER_KINDS: Partial<Record<v2.ClientType, MemberKind>> = {
  [v2.ClientType.PUSH_CONSUMER]: 'push',
  [v2.ClientType.SIMPLE_CONSUMER]: 'simple',
};

/** A consumer told us it is alive (heartbeat or telemetry settings); true when it named a valid group. */
function noteMember(deps: MessagingDeps, group: string | undefined, clientId: string, clientType: v2.ClientType | undefined): boolean {
  const kind = MEMBER_KINDS[clientType ?? v2.ClientType.CLIENT_TYPE_UNSPECIFIED];
  if (!kind || !group || nameProblem(group, GROUP_NAME_LENGTH_MAX)) return false;
  if (clientId) deps.membership.seen(group, clientId, kind, deps.clock.nowMs());
  return true;
}

/** PushConsumers ask for the queue they were assigned (and auto-renew; SimpleConsumers do not). */
function isPushMember(deps: MessagingDeps, group: string, clientId: string, request: v2.ReceiveMessageRequest): boolean {
  const kind = clientId ? deps.membership.kindOf(group, clientId) : undefined;
  return kind ? kind === 'push' : request.autoRenew === true;
}
