// Cluster-wide gauges from the latest snapshot. Series of brokers and topics that are gone are
// dropped at the next poll. rocketmq_topic_number keeps RocketMQ's broker metric name.
import { Gauge, type Registry } from 'prom-client';
import type { ClusterSnapshot } from './cluster-snapshot';

export interface ClusterMetrics {
  update(snapshot: ClusterSnapshot): void;
}

const BROKER_LABELS = ['cluster', 'broker', 'broker_id'] as const;

export function registerClusterMetrics(registry: Registry): ClusterMetrics {
  const registers = [registry];
  const nameServerUp = new Gauge({ name: 'rmq_name_server_up', help: '1 when a name server answered the last poll', registers });
  const clusterBrokers = new Gauge({ name: 'rmq_cluster_brokers', help: 'Live brokers the name server lists', labelNames: ['cluster'], registers });
  const brokerUp = new Gauge({ name: 'rmq_broker_up', help: '1 when the broker answered the last poll in time', labelNames: BROKER_LABELS, registers });
  const topicNumber = new Gauge({ name: 'rocketmq_topic_number', help: 'Topics on the broker', labelNames: BROKER_LABELS, registers });
  const logEndOffset = new Gauge({
    name: 'rmq_broker_log_end_offset',
    help: 'End of the broker commit log, in bytes',
    labelNames: BROKER_LABELS,
    registers,
  });
  const topicMessages = new Gauge({
    name: 'rmq_topic_messages',
    help: 'Messages ever written to the topic: the sum over its queues of their max offset',
    labelNames: ['cluster', 'topic'],
    registers,
  });

  const groupLag = new Gauge({
    name: 'rmq_cluster_consumer_lag_messages',
    help: 'Messages a consumer group has not acknowledged on a topic, over the masters of every broker group',
    labelNames: ['cluster', 'consumer_group', 'topic'],
    registers,
  });
  const groupInflight = new Gauge({
    name: 'rmq_cluster_consumer_inflight_messages',
    help: 'Messages delivered to a consumer group and not acknowledged, over the masters of every broker group',
    labelNames: ['cluster', 'consumer_group', 'topic'],
    registers,
  });

  return {
    update(snapshot) {
      for (const gauge of [clusterBrokers, brokerUp, topicNumber, logEndOffset, topicMessages, groupLag, groupInflight]) gauge.reset();
      for (const view of snapshot.groups) {
        const labels = { cluster: view.clusterName, consumer_group: view.group, topic: view.topic };
        groupLag.set(labels, view.lag);
        groupInflight.set(labels, view.inflight);
      }
      nameServerUp.set(snapshot.nameServer === undefined ? 0 : 1);
      const perCluster = new Map<string, number>();
      for (const broker of snapshot.brokers) {
        perCluster.set(broker.clusterName, (perCluster.get(broker.clusterName) ?? 0) + 1);
        const labels = { cluster: broker.clusterName, broker: broker.brokerName, broker_id: String(broker.brokerId) };
        brokerUp.set(labels, broker.up ? 1 : 0);
        if (broker.topicCount !== undefined) topicNumber.set(labels, broker.topicCount);
        if (broker.logEndOffset !== undefined) logEndOffset.set(labels, broker.logEndOffset);
      }
      for (const [cluster, count] of perCluster) clusterBrokers.set({ cluster }, count);
      for (const topic of snapshot.topics) topicMessages.set({ cluster: topic.clusterName, topic: topic.topic }, topic.messages);
    },
  };
}
