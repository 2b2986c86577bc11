// The broker's spans, after OpenTelemetry's messaging conventions (messaging.system=rocketmq):
//
//   send <topic>      SERVER  the SendMessage RPC; parent: the caller's traceparent header, else the
//                             message's own trace_context (one message), else none; links: every
//                             message's creation context. A message that arrives without a
//                             trace_context gets this span's: it becomes its creation context.
//     store append    INTERNAL  the store's append of the batch
//       fsync         INTERNAL  the group commit's fdatasync that made it durable (sync flush)
//       replicate     INTERNAL  the copy to one slave (replicaCopied, for replication)
//   receive <topic>   SERVER  a ReceiveMessage that returned messages (links: their creation contexts)
//   deliver <topic>   INTERNAL  one message handed to a consumer: child of its creation context,
//                             linked to the receive span, so a message's trace shows every delivery
//     ack <topic>     INTERNAL  its acknowledgement (child of the delivery, found by message id)
//     dead-letter <topic>  INTERNAL  its move to %DLQ%<group>
//
// When tracing is off the broker gets NO_MESSAGE_TRACING and none of this runs.
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { contextFromTraceparent, traceparentOf } from '@rmq/observability';
import type { OutgoingMessage } from '@rmq/messaging';
import type { AppendResult, MessageStore, StoreEvent } from '@rmq/store';

/** Delivery contexts kept for acks and dead-lettering by message id; the oldest go first. */
const DELIVERY_CONTEXTS_MAX = 65_536;

export interface DeliveredMessage {
  messageId: string;
  traceContext?: string;
  deliveryAttempt: number;
}

export interface MessageTracing {
  readonly enabled: boolean;
  /** Runs a SendMessage's work inside its span; stamps messages that carry no creation context. */
  send<T>(messages: OutgoingMessage[], callerTraceparent: string, run: () => Promise<T>): Promise<T>;
  /** A ReceiveMessage that returned messages: its span, and one delivery span per message. */
  delivered(topic: string, group: string, startedAtMs: number, callerTraceparent: string, messages: DeliveredMessage[]): void;
  acked(topic: string, group: string, messageId: string, error?: unknown): void;
  deadLettered(topic: string, group: string, messageId: string, traceContext: string | undefined): void;
  /** For replication: one span per send whose append was pending while a stretch went to a slave. */
  replicaCopied(slave: string, startedAtMs: number, durationMs: number, sizeBytes: number): void;
  onStoreEvent(event: StoreEvent): void;
}

export const NO_MESSAGE_TRACING: MessageTracing = {
  enabled: false,
  send: (_messages, _traceparent, run) => run(),
  delivered: () => {},
  acked: () => {},
  deadLettered: () => {},
  replicaCopied: () => {},
  onStoreEvent: () => {},
};

interface PendingAppend {
  span: Span;
  /** performance.now() at the append: monotonic and finer than a millisecond, as fsyncs can be. */
  startedAt: number;
}

export function createMessageTracing(tracer: Tracer, store: MessageStore, options: { syncFlush: boolean; brokerName: string }): MessageTracing {
  const pendingAppends = new Set<PendingAppend>();
  const deliveries = new Map<string, Context>();
  const base = (topic: string, operationType: string, operationName: string): Attributes => ({
    'messaging.system': 'rocketmq',
    'messaging.destination.name': topic,
    'messaging.operation.type': operationType,
    'messaging.operation.name': operationName,
    'messaging.rocketmq.broker.name': options.brokerName,
  });

  // The store append, timed around the store's own call; AsyncLocalStorage makes the send span its parent.
  const append = store.append.bind(store);
  store.append = (inputs) => {
    if (!trace.getSpan(context.active())) return append(inputs); // only appends a send is waiting for
    const span = tracer.startSpan('store append', { kind: SpanKind.INTERNAL, attributes: { 'messaging.batch.message_count': inputs.length } });
    const pending = { span, startedAt: performance.now() };
    pendingAppends.add(pending);
    return append(inputs).then(
      (results: AppendResult[]) => {
        if (results.length > 0) span.setAttribute('rmq.log_offset', results[0].logOffset);
        pendingAppends.delete(pending);
        span.end();
        return results;
      },
      (error: unknown) => {
        pendingAppends.delete(pending);
        fail(span, error);
        throw error;
      },
    );
  };

  /** A child span, timed after the fact, under every append pending since before `startedAt` (performance.now() time). */
  const underPendingAppends = (name: string, startedAt: number, durationMs: number, attributes: Attributes) => {
    const startTimeMs = performance.timeOrigin + startedAt;
    for (const pending of pendingAppends) {
      if (pending.startedAt > startedAt) continue;
      const parent = trace.setSpan(ROOT_CONTEXT, pending.span);
      tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: startTimeMs, attributes }, parent).end(startTimeMs + durationMs);
    }
  };

  const remember = (messageId: string, ctx: Context) => {
    deliveries.delete(messageId);
    deliveries.set(messageId, ctx);
    if (deliveries.size > DELIVERY_CONTEXTS_MAX) deliveries.delete(deliveries.keys().next().value!);
  };

  return {
    enabled: true,

    send(messages, callerTraceparent, run) {
      const topic = messages[0]?.topic ?? '';
      const creation = messages.map((message) => contextFromTraceparent(message.traceContext));
      const parent = contextFromTraceparent(callerTraceparent) ?? (messages.length === 1 ? creation[0] : undefined) ?? ROOT_CONTEXT;
      const links = creation.filter((ctx): ctx is Context => ctx !== undefined).map(linkTo);
      const attributes = { ...base(topic, 'send', 'send'), ...(messages.length === 1 ? { 'messaging.message.id': messages[0].messageId } : { 'messaging.batch.message_count': messages.length }) };
      const span = tracer.startSpan(`send ${topic}`, { kind: SpanKind.SERVER, attributes, links }, parent);
      const spanContext = trace.setSpan(parent, span);
      const stamp = traceparentOf(spanContext);
      for (const message of messages) message.traceContext ??= stamp;
      return context.with(spanContext, run).then(
        (result) => {
          span.end();
          return result;
        },
        (error: unknown) => {
          fail(span, error);
          throw error;
        },
      );
    },

    delivered(topic, group, startedAtMs, callerTraceparent, messages) {
      const creation = messages.map((message) => contextFromTraceparent(message.traceContext));
      const receive = tracer.startSpan(`receive ${topic}`, {
        kind: SpanKind.SERVER,
        startTime: startedAtMs,
        attributes: { ...base(topic, 'receive', 'receive'), 'messaging.consumer.group.name': group, 'messaging.batch.message_count': messages.length },
        links: creation.filter((ctx): ctx is Context => ctx !== undefined).map(linkTo),
      }, contextFromTraceparent(callerTraceparent) ?? ROOT_CONTEXT);
      messages.forEach((message, index) => {
        const deliver = tracer.startSpan(`deliver ${topic}`, {
          kind: SpanKind.INTERNAL,
          attributes: {
            ...base(topic, 'receive', 'deliver'),
            'messaging.consumer.group.name': group,
            'messaging.message.id': message.messageId,
            'messaging.rocketmq.message.delivery_attempt': message.deliveryAttempt,
          },
          links: [{ context: receive.spanContext() }],
        }, creation[index] ?? ROOT_CONTEXT);
        remember(message.messageId, trace.setSpan(ROOT_CONTEXT, deliver));
        deliver.end();
      });
      receive.end();
    },

    acked(topic, group, messageId, error) {
      const parent = deliveries.get(messageId) ?? ROOT_CONTEXT;
      const span = tracer.startSpan(`ack ${topic}`, { kind: SpanKind.INTERNAL, attributes: { ...base(topic, 'settle', 'ack'), 'messaging.consumer.group.name': group, 'messaging.message.id': messageId } }, parent);
      if (error === undefined) {
        deliveries.delete(messageId);
        span.end();
      } else fail(span, error);
    },

    deadLettered(topic, group, messageId, traceContext) {
      const parent = deliveries.get(messageId) ?? contextFromTraceparent(traceContext) ?? ROOT_CONTEXT;
      deliveries.delete(messageId);
      tracer.startSpan(`dead-letter ${topic}`, {
        kind: SpanKind.INTERNAL,
        attributes: { ...base(topic, 'settle', 'dead_letter'), 'messaging.consumer.group.name': group, 'messaging.message.id': messageId, 'messaging.rocketmq.dead_letter_topic': `%DLQ%${group}` },
      }, parent).end();
    },

    replicaCopied(slave, startedAtMs, durationMs, sizeBytes) {
      underPendingAppends('replicate', startedAtMs - performance.timeOrigin, durationMs, { 'rmq.replica': slave, 'rmq.size_bytes': sizeBytes });
    },

    onStoreEvent(event) {
      if (event.kind === 'fsync' && options.syncFlush) {
        underPendingAppends('fsync', performance.now() - event.durationMs, event.durationMs, { 'rmq.segment_start_log_offset': event.segmentStartLogOffset });
      }
    },
  };
}

function linkTo(ctx: Context): Link {
  return { context: trace.getSpanContext(ctx)! };
}

function fail(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}
