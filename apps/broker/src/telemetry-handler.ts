// The Telemetry stream: clients announce their settings and wait for ours before they start.
// We answer each settings command twice, at once and a second later, because the Node client
// can miss a reply that arrives before it starts waiting (it then waits minutes for a resend).
import type * as grpc from '@grpc/grpc-js';
import { create, durationFromMs, okStatus, v2 } from '@rmq/contracts';
import { MESSAGING_LIMITS, type GroupConfig } from '@rmq/messaging';
import type { Logger } from '@rmq/observability';
import type { ProducerStreams } from './producer-streams';

const SETTINGS_REPEAT_DELAY_MS = 1_000;
const REQUEST_TIMEOUT_MS = 3_000;
const PUSH_RECEIVE_BATCH_SIZE = 32;

export interface TelemetryOptions {
  log: Logger;
  /** A client told us its settings (it is alive and, for consumers, in a group). */
  onSettings?: (clientId: string, settings: v2.Settings) => void;
  /** The client's stream to this broker closed (it shut down, or its connection broke). */
  onClosed?: (clientId: string) => void;
  bodySizeBytesMax: number;
  /** A consumer group's settings: its retry policy and attempts are told to its consumers. */
  groupSettings: (group: string) => GroupConfig;
  /** FIFO topics make a FIFO subscription (for groups that consume orderly): messages of one message group in order. */
  isFifoTopic: (topic: string) => boolean;
  longPollingMs: number;
  /** Producers' streams, for transaction checks. */
  producers?: ProducerStreams;
}

export function telemetryHandler(options: TelemetryOptions): grpc.handleBidiStreamingCall<v2.TelemetryCommand, v2.TelemetryCommand> {
  return (call) => {
    const timers = new Set<NodeJS.Timeout>();
    const clientId = String(call.metadata.get('x-mq-client-id')[0] ?? '');
    const send = (command: v2.TelemetryCommand) => {
      if (!call.writableEnded && !call.destroyed) call.write(command);
    };
    call.on('data', (command: v2.TelemetryCommand) => {
      if (command.command.case !== 'settings') return;
      const reply = settingsReply(command.command.value, options);
      if (!reply) {
        send(create(v2.TelemetryCommandSchema, { status: { code: v2.Code.UNRECOGNIZED_CLIENT_TYPE, message: 'settings need a client type: producer, push consumer or simple consumer' } }));
        return;
      }
      send(reply);
      options.onSettings?.(clientId, command.command.value);
      const pubSub = command.command.value.pubSub;
      if (pubSub.case === 'publishing' && clientId) options.producers?.add(clientId, pubSub.value.topics.map((topic) => topic.name), send);
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(reply);
      }, SETTINGS_REPEAT_DELAY_MS);
      timers.add(timer);
      options.log.debug('client settings', { clientId, clientType: v2.ClientType[command.command.value.clientType ?? 0] });
    });
    let closed = false;
    const stop = () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!closed) {
        options.onClosed?.(clientId);
        options.producers?.remove(clientId);
      }
      closed = true;
    };
    call.on('end', () => {
      stop();
      call.end();
    });
    call.on('cancelled', stop);
    call.on('error', stop);
  };
}

/** Our settings for a client, mirroring what it told us; undefined for an unknown client type. */
function settingsReply(client: v2.Settings, options: TelemetryOptions): v2.TelemetryCommand | undefined {
  const common = {
    clientType: client.clientType,
    accessPoint: client.accessPoint,
    requestTimeout: durationFromMs(REQUEST_TIMEOUT_MS),
    userAgent: client.userAgent,
    metric: { on: false },
  };
  switch (client.clientType) {
    case v2.ClientType.PRODUCER:
      return create(v2.TelemetryCommandSchema, {
        status: okStatus(),
        command: {
          case: 'settings',
          value: {
            ...common,
            // The producer requires an exponential policy; it retries a failed send on another broker.
            backoffPolicy: { maxAttempts: 3, strategy: { case: 'exponentialBackoff', value: { initial: durationFromMs(10), max: durationFromMs(1_000), multiplier: 2 } } },
            pubSub: { case: 'publishing', value: { topics: client.pubSub.case === 'publishing' ? client.pubSub.value.topics : [], maxBodySize: options.bodySizeBytesMax, validateMessageType: true } },
          },
        },
      });
    case v2.ClientType.PUSH_CONSUMER:
    case v2.ClientType.SIMPLE_CONSUMER: {
      const subscription = client.pubSub.case === 'subscription' ? client.pubSub.value : undefined;
      const topics = (subscription?.subscriptions ?? []).map((entry) => entry.topic?.name ?? '');
      const group = options.groupSettings(subscription?.group?.name ?? '');
      const fifo = group.fifo && topics.length > 0 && topics.every(options.isFifoTopic);
      return create(v2.TelemetryCommandSchema, {
        status: okStatus(),
        command: {
          case: 'settings',
          value: {
            ...common,
            backoffPolicy: consumerRetryPolicy(fifo, group),
            pubSub: {
              case: 'subscription',
              value: {
                group: subscription?.group,
                subscriptions: subscription?.subscriptions ?? [],
                fifo,
                receiveBatchSize: PUSH_RECEIVE_BATCH_SIZE,
                longPollingTimeout: durationFromMs(options.longPollingMs),
              },
            },
          },
        },
      });
    }
    default:
      return undefined;
  }
}

/**
 * The group's retry policy as consumers are told it. A customized policy goes as a customized
 * backoff: the broker applies it to every nack itself (the Node push consumer ignores a customized
 * policy and nacks with 0, a Java one nacks with the same delays). A FIFO push consumer re-runs a
 * failed message locally, then forwards it to the dead-letter topic, and reads only an exponential
 * policy: a customized one is told as its first and last delay, doubling.
 */
function consumerRetryPolicy(fifo: boolean, group: GroupConfig): v2.RetryPolicy {
  const policy = group.retry;
  if (policy.kind === 'customized' && !fifo) {
    return create(v2.RetryPolicySchema, { maxAttempts: group.maxAttempts, strategy: { case: 'customizedBackoff', value: { next: policy.delaysMs.map(durationFromMs) } } });
  }
  const [initialMs, maxMs, multiplier] =
    policy.kind === 'exponential' ? [policy.initialMs, policy.maxMs, policy.multiplier] : [policy.delaysMs[0] ?? 0, policy.delaysMs[policy.delaysMs.length - 1] ?? 0, 2];
  return create(v2.RetryPolicySchema, {
    maxAttempts: group.maxAttempts,
    strategy: { case: 'exponentialBackoff', value: { initial: durationFromMs(initialMs), max: durationFromMs(Math.max(initialMs, maxMs)), multiplier } },
  });
}

export const TELEMETRY_DEFAULTS = { longPollingMs: MESSAGING_LIMITS.longPollingMsDefault };
