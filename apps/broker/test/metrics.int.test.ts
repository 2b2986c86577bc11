// RocketMQ 5's broker metrics after a known workload with the official client: names, labels
// (cluster, node_type, node_id, topic, consumer_group, is_retry, is_system) and values.
import { SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { eventually, quietClientLogger, sampleValue, startOfficialProducer, scrapeMetrics } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

describe('broker metrics', () => {
  const local = useLocalCluster({ topics: ['MeteredTopic'], topicOptions: { queueCount: 1 } });
  const scrape = async () => scrapeMetrics(local.cluster.broker);

  it('counts lag, in-flight and ready messages of a group, connections, sizes and permission', async () => {
    const producer = await startOfficialProducer(local.cluster.endpoint);
    const firstSendMs = Date.now();
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'MeteredTopic', body: Buffer.alloc(2000, 0x61) });
    const consumer = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: 'metered-group', subscriptions: new Map([['MeteredTopic', '*']]), awaitDuration: 2_000, logger: quietClientLogger });
    await consumer.startup();
    try {
      const received: MessageView[] = [];
      await eventually(async () => {
        received.push(...(await consumer.receive(3 - received.length, 60_000)));
        expect(received).toHaveLength(3);
      }, { timeoutMs: 20_000 });
      await consumer.ack(received[0]); // offset 0: committed moves to 1

      const group = { topic: 'MeteredTopic', consumer_group: 'metered-group', is_retry: 'false', is_system: 'false' };
      const metrics = await scrape();
      expect(sampleValue(metrics, 'rocketmq_consumer_lag_messages', group)).toBe(4);
      expect(sampleValue(metrics, 'rocketmq_consumer_inflight_messages', group)).toBe(2);
      expect(sampleValue(metrics, 'rocketmq_consumer_ready_messages', group)).toBe(2);
      // Latencies: now minus the store time of the oldest message not acknowledged (offset 1) and
      // of the oldest not yet delivered (offset 3, stored later); the oldest record on disk is older.
      const sinceFirstSendMs = Date.now() - firstSendMs;
      const lagLatency = sampleValue(metrics, 'rocketmq_consumer_lag_latency', group)!;
      const queueingLatency = sampleValue(metrics, 'rocketmq_consumer_queueing_latency', group)!;
      expect(lagLatency).toBeGreaterThan(0);
      expect(lagLatency).toBeLessThanOrEqual(sinceFirstSendMs);
      expect(queueingLatency).toBeGreaterThan(0);
      expect(queueingLatency).toBeLessThanOrEqual(lagLatency);
      expect(sampleValue(metrics, 'rocketmq_storage_message_reserve_time')).toBeGreaterThanOrEqual(lagLatency);
      expect(sampleValue(metrics, 'rocketmq_messages_in_total', { topic: 'MeteredTopic', message_type: 'normal', is_system: 'false', cluster: 'DefaultCluster', node_type: 'broker', node_id: 'broker-a-0' })).toBe(5);
      expect(sampleValue(metrics, 'rocketmq_messages_out_total', group)).toBe(3);
      expect(sampleValue(metrics, 'rocketmq_message_size_bucket', { topic: 'MeteredTopic', le: '1024' })).toBe(0);
      expect(sampleValue(metrics, 'rocketmq_message_size_bucket', { topic: 'MeteredTopic', le: '4096' })).toBe(5);
      expect(sampleValue(metrics, 'rocketmq_broker_permission')).toBe(6);
      expect(sampleValue(metrics, 'rmq_broker_role', { broker_name: 'broker-a', role: 'master' })).toBe(1);
      expect(sampleValue(metrics, 'rocketmq_consumer_group_number')).toBeGreaterThanOrEqual(1);
      expect(sampleValue(metrics, 'rocketmq_producer_connections', { language: 'node_js' })).toBe(1);
      expect(sampleValue(metrics, 'rocketmq_consumer_connections', { consumer_group: 'metered-group', language: 'node_js', consume_mode: 'pop' })).toBe(1);
    } finally {
      await consumer.shutdown();
      await producer.shutdown();
    }
    // Connections end with the clients' streams.
    await eventually(async () => {
      const metrics = await scrape();
      expect(sampleValue(metrics, 'rocketmq_producer_connections', { language: 'node_js' })).toBe(0);
      expect(sampleValue(metrics, 'rocketmq_consumer_connections', { consumer_group: 'metered-group' })).toBe(0);
    }, { timeoutMs: 10_000 });
  });
});
