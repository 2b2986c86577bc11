// The broker's Prometheus series, named as RocketMQ 5 names them where a name exists.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { v2 } from '@rmq/contracts';
import type { MessageStore } from '@rmq/store';
import type { ConsumerProgress, TopicRegistry } from '@rmq/messaging';

export interface BrokerMetrics {
  observeRpc(method: string, code: v2.Code, durationMs: number): void;
  messageIn(topic: string, messageType: string, sizeBytes: number): void;
  messageOut(topic: string, group: string, sizeBytes: number): void;
  deadLettered(topic: string, group: string): void;
  /** Retention deleted messages of `topic` before `group` consumed them. */
  retentionSkipped(topic: string, group: string, count: number): void;
}

export function createBrokerMetrics(registry: Registry, sources: { store: MessageStore; topics: TopicRegistry; progress: ConsumerProgress }): BrokerMetrics {
  const rpcLatency = new Histogram({
    name: 'rocketmq_rpc_latency',
    help: 'RPC latency in milliseconds',
    labelNames: ['protocol_type', 'request_code', 'response_code'],
    buckets: [1, 3, 5, 7, 10, 100, 1000, 2000, 3000],
    registers: [registry],
  });
  const messagesIn = new Counter({ name: 'rocketmq_messages_in_total', help: 'messages stored', labelNames: ['topic', 'message_type'], registers: [registry] });
  const bytesIn = new Counter({ name: 'rocketmq_throughput_in_total', help: 'body bytes stored', labelNames: ['topic', 'message_type'], registers: [registry] });
  const messagesOut = new Counter({ name: 'rocketmq_messages_out_total', help: 'messages delivered', labelNames: ['topic', 'consumer_group'], registers: [registry] });
  const bytesOut = new Counter({ name: 'rocketmq_throughput_out_total', help: 'body bytes delivered', labelNames: ['topic', 'consumer_group'], registers: [registry] });
  const sentToDlq = new Counter({ name: 'rocketmq_send_to_dlq_messages_total', help: 'messages moved to a dead-letter topic, by origin topic and group', labelNames: ['topic', 'consumer_group'], registers: [registry] });
  const retentionSkipped = new Counter({
    name: 'rmq_retention_unconsumed_messages_total',
    help: 'messages retention deleted before the consumer group consumed them',
    labelNames: ['topic', 'consumer_group'],
    registers: [registry],
  });
  new Gauge({
    name: 'rocketmq_topic_number',
    help: 'topics on this broker',
    registers: [registry],
    collect() {
      this.set(sources.topics.list().length);
    },
  });
  new Gauge({
    name: 'rocketmq_consumer_lag_messages',
    help: 'messages not yet acknowledged by a consumer group (max offset - committed offset)',
    labelNames: ['topic', 'consumer_group'],
    registers: [registry],
    collect() {
      this.reset();
      const lags = new Map<string, { topic: string; consumer_group: string; lag: number }>();
      for (const { key, state } of sources.progress.groupStates()) {
        const id = `${key.g}\u0000${key.t}`;
        const entry = lags.get(id) ?? { topic: key.t, consumer_group: key.g, lag: 0 };
        entry.lag += Math.max(0, sources.store.queueRange(key.t, key.q).maxQueueOffset - state.committedOffset);
        lags.set(id, entry);
      }
      for (const { lag, ...labels } of lags.values()) this.set(labels, lag);
    },
  });
  return {
    observeRpc: (method, code, durationMs) => rpcLatency.observe({ protocol_type: 'grpc', request_code: method, response_code: v2.Code[code] ?? String(code) }, durationMs),
    messageIn: (topic, messageType, sizeBytes) => {
      messagesIn.inc({ topic, message_type: messageType.toLowerCase() });
      bytesIn.inc({ topic, message_type: messageType.toLowerCase() }, sizeBytes);
    },
    messageOut: (topic, group, sizeBytes) => {
      messagesOut.inc({ topic, consumer_group: group });
      bytesOut.inc({ topic, consumer_group: group }, sizeBytes);
    },
    deadLettered: (topic, group) => sentToDlq.inc({ topic, consumer_group: group }),
    retentionSkipped: (topic, group, count) => retentionSkipped.inc({ topic, consumer_group: group }, count),
  };
}
