// The broker's Prometheus series, named, labelled and measured as RocketMQ 5's broker metrics
// (BrokerMetricsConstant) where a name exists: topic, consumer_group, message_type, is_retry,
// is_system; cluster, node_type and node_id come from the registry's default labels.
import { Counter, Gauge, type Registry } from 'prom-client';
import { isSystemTopic, RETRY_TOPIC_PREFIX } from '@rmq/base';
import { v2 } from '@rmq/contracts';
import type { MessageStore } from '@rmq/store';
import type { ConsumerProgress, GroupRegistry, TopicRegistry } from '@rmq/messaging';
import { ConsumerBacklog } from './consumer-backlog';
import { TalliedHistogram } from './tallied-histogram';

type RpcLabels = { protocol_type: string; request_code: string; response_code: string };

export interface BrokerMetrics {
  observeRpc(method: string, code: v2.Code, durationMs: number): void;
  /** Messages of one topic and type stored by one request (counters once per request, not per message). */
  messagesIn(topic: string, messageType: string, sizesBytes: readonly number[]): void;
  /** Messages of one topic delivered to one group by one request. */
  messagesOut(topic: string, group: string, count: number, sizeBytes: number): void;
  deadLettered(topic: string, group: string): void;
  /** Retention deleted messages of `topic` before `group` consumed them. */
  retentionSkipped(topic: string, group: string, count: number): void;
}

export interface BrokerMetricSources {
  store: MessageStore;
  topics: TopicRegistry;
  groups: GroupRegistry;
  progress: ConsumerProgress;
  /** The broker's permission bits (RocketMQ's: 2 write, 4 read, 6 both). */
  permission: () => number;
  /** Its broker group, its role in it now, and the group's epoch as this broker knows it. */
  brokerName: string;
  role: () => 'master' | 'slave';
  epoch: () => number;
  /** Receives (long polls) running now, over all clients. */
  receivesRunning: () => number;
  /** The budget of request bytes in flight: bytes held now, calls refused since start. */
  requests: { inFlightBytes: number; refusals: number };
}

/** RocketMQ's message size buckets: 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB. */
const MESSAGE_SIZE_BUCKETS_BYTES = [1024, 4096, 512 * 1024, 1024 * 1024, 2 * 1024 * 1024, 4 * 1024 * 1024];

/** How long one pass over the consumer progress serves the gauges (one scrape reads all three). */
const SUMS_REUSE_MS = 200;

const isSystem = (topic: string) => String(isSystemTopic(topic) || topic.startsWith('%DLQ%'));
const isRetry = (topic: string) => String(topic.startsWith(RETRY_TOPIC_PREFIX));

export function createBrokerMetrics(registry: Registry, sources: BrokerMetricSources): BrokerMetrics {
  // Observed on every call: tallied without a label hash per observation (tallied-histogram.ts).
  const rpcLatency = new TalliedHistogram<RpcLabels>('rocketmq_rpc_latency', 'RPC latency in milliseconds', [1, 3, 5, 7, 10, 100, 1000, 2000, 3000], registry);
  // The in and out counters move once per call (each a label hash in prom-client): they are
  // tallied per label set here and handed to prom-client when a scrape collects them.
  const tallyIn = new LabelTallies<{ topic: string; message_type: string; is_system: string }>();
  const tallyOut = new LabelTallies<{ topic: string; consumer_group: string; is_retry: string; is_system: string }>();
  const messagesIn: Counter = new Counter({
    name: 'rocketmq_messages_in_total', help: 'messages stored', labelNames: ['topic', 'message_type', 'is_system'], registers: [registry],
    collect: (): void => tallyIn.handOver(messagesIn, bytesIn),
  });
  const bytesIn: Counter = new Counter({
    name: 'rocketmq_throughput_in_total', help: 'body bytes stored', labelNames: ['topic', 'message_type', 'is_system'], registers: [registry],
    collect: (): void => tallyIn.handOver(messagesIn, bytesIn),
  });
  const messageSize = new TalliedHistogram<{ topic: string; message_type: string }>('rocketmq_message_size', 'body size of stored messages, in bytes', MESSAGE_SIZE_BUCKETS_BYTES, registry);
  const messagesOut: Counter = new Counter({
    name: 'rocketmq_messages_out_total', help: 'messages delivered', labelNames: ['topic', 'consumer_group', 'is_retry', 'is_system'], registers: [registry],
    collect: (): void => tallyOut.handOver(messagesOut, bytesOut),
  });
  const bytesOut: Counter = new Counter({
    name: 'rocketmq_throughput_out_total', help: 'body bytes delivered', labelNames: ['topic', 'consumer_group', 'is_retry', 'is_system'], registers: [registry],
    collect: (): void => tallyOut.handOver(messagesOut, bytesOut),
  });
  new Gauge({
    name: 'rocketmq_consumer_group_number',
    help: 'consumer groups on this broker',
    registers: [registry],
    collect() {
      this.set(sources.groups.list().length);
    },
  });
  new Gauge({
    name: 'rocketmq_broker_permission',
    help: 'the broker\'s permission bits: 2 write, 4 read, 6 read and write',
    registers: [registry],
    collect() {
      this.set(sources.permission());
    },
  });
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
    name: 'rmq_broker_role',
    help: '1 on the broker\'s current role in its group (master or slave): no series with role="master" in a group means no master',
    labelNames: ['broker_name', 'role'],
    registers: [registry],
    collect() {
      const role = sources.role();
      this.set({ broker_name: sources.brokerName, role: 'master' }, role === 'master' ? 1 : 0);
      this.set({ broker_name: sources.brokerName, role: 'slave' }, role === 'slave' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rmq_broker_epoch',
    help: 'the epoch of the broker\'s group as this broker knows it',
    labelNames: ['broker_name'],
    registers: [registry],
    collect() {
      this.set({ broker_name: sources.brokerName }, sources.epoch());
    },
  });
  new Gauge({
    name: 'rmq_receives_running',
    help: 'receives (long polls) running now; --receives-per-client-max and --receives-per-group-max bound them',
    registers: [registry],
    collect() {
      this.set(sources.receivesRunning());
    },
  });
  new Gauge({
    name: 'rmq_request_bytes_in_flight',
    help: 'bytes of requests read and not yet answered (sends waiting for their append, above all); --requests-in-flight-max-mib bounds them',
    registers: [registry],
    collect() {
      this.set(sources.requests.inFlightBytes);
    },
  });
  let refusalsCounted = 0;
  new Counter({
    name: 'rmq_request_budget_refusals_total',
    help: 'requests refused with TOO_MANY_REQUESTS because they would take the request bytes in flight past --requests-in-flight-max-mib',
    registers: [registry],
    collect() {
      this.inc(sources.requests.refusals - refusalsCounted);
      refusalsCounted = sources.requests.refusals;
    },
  });
  registerConsumerGauges(registry, sources);
  // Label objects made once per label set (methods and codes are few; topics and groups exist).
  const rpcLabels = new TwoKeyCache<string, number, RpcLabels>(
    (method, code) => ({ protocol_type: 'grpc', request_code: method, response_code: v2.Code[code] ?? String(code) }));
  const sizeLabels = new TwoKeyCache<string, string, { topic: string; message_type: string }>((topic, messageType) => ({ topic, message_type: messageType.toLowerCase() }));
  return {
    observeRpc: (method, code, durationMs) => rpcLatency.observe(rpcLabels.get(method, code), durationMs),
    messagesIn: (topic, messageType, sizesBytes) => {
      if (sizesBytes.length === 0) return;
      const labels = sizeLabels.get(topic, messageType);
      let bytes = 0;
      for (const sizeBytes of sizesBytes) {
        bytes += sizeBytes;
        messageSize.observe(labels, sizeBytes);
      }
      tallyIn.add(topic, messageType, () => ({ topic, message_type: labels.message_type, is_system: isSystem(topic) }), sizesBytes.length, bytes);
    },
    messagesOut: (topic, group, count, sizeBytes) => {
      if (count === 0) return;
      tallyOut.add(topic, group, () => ({ topic, consumer_group: group, is_retry: isRetry(topic), is_system: isSystem(topic) }), count, sizeBytes);
    },
    deadLettered: (topic, group) => sentToDlq.inc({ topic, consumer_group: group }),
    retentionSkipped: (topic, group, count) => retentionSkipped.inc({ topic, consumer_group: group }, count),
  };
}

/** Values made once per pair of keys (two Map levels: no key string per lookup). */
class TwoKeyCache<A, B, V> {
  private readonly values = new Map<A, Map<B, V>>();
  constructor(private readonly make: (a: A, b: B) => V) {}

  get(a: A, b: B): V {
    let inner = this.values.get(a);
    if (!inner) this.values.set(a, (inner = new Map()));
    let value = inner.get(b);
    if (value === undefined) inner.set(b, (value = this.make(a, b)));
    return value;
  }
}

/** Message and byte counts per label set, added up between scrapes and handed to two prom-client counters at a scrape. */
class LabelTallies<L extends Record<string, string>> {
  private readonly tallies = new TwoKeyCache<string, string, { labels: L; messages: number; bytes: number }>(() => ({ labels: undefined as unknown as L, messages: 0, bytes: 0 }));
  private readonly all: { labels: L; messages: number; bytes: number }[] = [];

  add(a: string, b: string, labelsOf: () => L, messages: number, bytes: number): void {
    const tally = this.tallies.get(a, b);
    if (tally.labels === undefined) {
      tally.labels = labelsOf();
      this.all.push(tally);
    }
    tally.messages += messages;
    tally.bytes += bytes;
  }

  handOver(messages: Counter, bytes: Counter): void {
    for (const tally of this.all) {
      if (tally.messages === 0) continue;
      messages.inc(tally.labels, tally.messages);
      bytes.inc(tally.labels, tally.bytes);
      tally.messages = 0;
      tally.bytes = 0;
    }
  }
}

/**
 * Per group and topic: lag (stored, not acknowledged), in flight (delivered, not acknowledged),
 * ready (stored, never delivered) and RocketMQ's queueing and lag latencies, from messaging's
 * running sums (consumer-backlog.ts says what a scrape costs). On the master only.
 */
function registerConsumerGauges(registry: Registry, sources: BrokerMetricSources): void {
  const labelNames = ['topic', 'consumer_group', 'is_retry', 'is_system'];
  const labelsOf = (entry: { topic: string; group: string }) => ({ topic: entry.topic, consumer_group: entry.group, is_retry: isRetry(entry.topic), is_system: isSystem(entry.topic) });
  const backlog = new ConsumerBacklog({
    totals: () => sources.progress.totals.list(),
    peek: (key) => sources.progress.peek(key),
    store: sources.store,
    nowMs: () => Date.now(),
  });
  /** The gauges of one scrape share one computation (reused for SUMS_REUSE_MS). */
  const reused = <T>(compute: () => T): (() => T) => {
    let value: T | undefined;
    let computedAtMs = -Infinity;
    return () => {
      if (value === undefined || performance.now() - computedAtMs >= SUMS_REUSE_MS) {
        value = compute();
        computedAtMs = performance.now();
      }
      return value;
    };
  };
  // A slave's progress is a copy of its master's: only the master reports it, or the cluster-wide
  // sums of the recording rules would count each group once per replica.
  const onMaster = <T>(compute: () => T[] | Promise<T[]>) => () => (sources.role() === 'master' ? compute() : []);
  const counts = reused(onMaster(() => backlog.counts()));
  const latencies = reused(onMaster(() => backlog.latencies()));
  const gauge = <E extends { topic: string; group: string }>(name: string, help: string, entries: () => E[] | Promise<E[]>, value: (entry: E) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const current = await entries();
        this.reset();
        for (const entry of current) this.set(labelsOf(entry), value(entry));
      },
    });
  gauge('rocketmq_consumer_lag_messages', 'messages not yet acknowledged by a consumer group (max offset - committed offset)', counts, (entry) => entry.lag);
  gauge('rocketmq_consumer_inflight_messages', 'messages delivered to a consumer group and not yet acknowledged', counts, (entry) => entry.inflight);
  gauge('rocketmq_consumer_ready_messages', 'messages stored and not yet delivered to a consumer group', counts, (entry) => entry.ready);
  gauge('rocketmq_consumer_queueing_latency', 'milliseconds since the oldest ready message (stored, not yet delivered to the group) was stored; 0 with none', latencies, (entry) => entry.queueingMs);
  gauge('rocketmq_consumer_lag_latency', 'milliseconds since the oldest message the group has not acknowledged was stored; 0 with none', latencies, (entry) => entry.lagMs);
}
