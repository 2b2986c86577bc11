import { Registry } from 'prom-client';
import { registerClusterMetrics } from './cluster-metrics';
import type { BrokerView, ClusterSnapshot } from './cluster-snapshot';

const brokerA: BrokerView = {
  clusterName: 'c1',
  brokerName: 'broker-a',
  brokerId: 0,
  endpoint: 'a:1',
  up: true,
  logEndOffset: 4_096,
  topicCount: 2,
  topicErrors: [],
};
const brokerB: BrokerView = { clusterName: 'c1', brokerName: 'broker-b', brokerId: 0, endpoint: 'b:1', up: false, error: 'timeout', topicErrors: [] };

function snapshot(brokers: BrokerView[]): ClusterSnapshot {
  return {
    takenAtMs: 0,
    nameServer: 'ns:1',
    brokers,
    topics: [{ clusterName: 'c1', topic: 'TopicA', messages: 22, queueCount: 3, brokerNames: ['broker-a'] }],
    groups: [{ clusterName: 'c1', group: 'G', topic: 'TopicA', lag: 7, inflight: 2, consumed: 15 }],
  };
}

describe('cluster metrics', () => {
  it('turns a snapshot into gauges, and drops the series of brokers that left', async () => {
    const registry = new Registry();
    const metrics = registerClusterMetrics(registry);
    metrics.update(snapshot([brokerA, brokerB]));
    let text = await registry.metrics();
    expect(text).toContain('rmq_name_server_up 1');
    expect(text).toContain('rmq_cluster_brokers{cluster="c1"} 2');
    expect(text).toContain('rmq_broker_up{cluster="c1",broker="broker-a",broker_id="0"} 1');
    expect(text).toContain('rmq_broker_up{cluster="c1",broker="broker-b",broker_id="0"} 0');
    expect(text).toContain('rocketmq_topic_number{cluster="c1",broker="broker-a",broker_id="0"} 2');
    expect(text).toContain('rmq_broker_log_end_offset{cluster="c1",broker="broker-a",broker_id="0"} 4096');
    expect(text).toContain('rmq_topic_messages{cluster="c1",topic="TopicA"} 22');
    expect(text).toContain('rmq_cluster_consumer_lag_messages{cluster="c1",consumer_group="G",topic="TopicA"} 7');
    expect(text).toContain('rmq_cluster_consumer_inflight_messages{cluster="c1",consumer_group="G",topic="TopicA"} 2');
    expect(text).not.toContain('rocketmq_topic_number{cluster="c1",broker="broker-b"');

    metrics.update(snapshot([brokerA]));
    text = await registry.metrics();
    expect(text).not.toContain('broker="broker-b"');
    expect(text).toContain('rmq_cluster_brokers{cluster="c1"} 1');
  });
});
