// What the controller shows Prometheus. Names and labels follow RocketMQ 5's controller metrics
// (ControllerMetricsConstant: role, active_broker_num, request_total, request_latency in
// microseconds, election_total); the epoch and in-sync set size per group are ours (rmq_ prefix).
import { performance } from 'node:perf_hooks';
import { isRmqError } from '@rmq/base';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ElectionResult, ReplicaController } from './replica-controller';

/** RocketMQ's MemberState role values for the `role` gauge: 0 unknown, 1 candidate, 2 follower, 3 leader. */
const ROLE_FOLLOWER = 2;
const ROLE_LEADER = 3;
const ELECTION_RESULTS: readonly ElectionResult[] = ['new_master_elected', 'no_master_elected'];
/** Request latency buckets in microseconds: 100 µs (memory) to 5 s (an etcd write that timed out). */
const LATENCY_BUCKETS_US = [100, 500, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 5_000_000];

/** Runs one request and counts it by type and outcome (RocketMQ's request_handle_status). */
export type RequestObserver = <T>(requestType: string, work: () => Promise<T>) => Promise<T>;

export function registerControllerMetrics(registry: Registry, replicaController: ReplicaController, address: string): RequestObserver {
  new Gauge({
    name: 'role',
    help: 'Role of this controller node (0 unknown, 1 candidate, 2 follower, 3 leader)',
    labelNames: ['address'],
    registers: [registry],
    collect() {
      this.set({ address }, replicaController.isLeader() ? ROLE_LEADER : ROLE_FOLLOWER);
    },
  });

  new Gauge({
    name: 'active_broker_num',
    help: 'Live brokers per broker group, by their heartbeats (known to the leader only)',
    labelNames: ['cluster', 'broker_set'],
    registers: [registry],
    collect() {
      this.reset();
      for (const group of replicaController.groups()) {
        this.set({ cluster: group.clusterName, broker_set: group.brokerName }, replicaController.aliveBrokerCount(group));
      }
    },
  });

  new Gauge({
    name: 'rmq_controller_epoch',
    help: 'Current epoch of each broker group (known to the leader only)',
    labelNames: ['broker_name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const group of replicaController.groups()) this.set({ broker_name: group.brokerName }, group.epoch);
    },
  });

  new Gauge({
    name: 'rmq_controller_in_sync_set_size',
    help: 'Brokers in the in-sync set of each broker group, the master included (known to the leader only)',
    labelNames: ['broker_name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const group of replicaController.groups()) this.set({ broker_name: group.brokerName }, group.inSyncBrokerIds.length);
    },
  });

  const elections = new Counter({
    name: 'election_total',
    help: 'Master elections by result; a group without a live in-sync broker counts once per outage',
    labelNames: ['cluster', 'broker_set', 'election_result'],
    registers: [registry],
  });
  replicaController.onElection((group, result) => {
    for (const each of ELECTION_RESULTS) elections.inc({ cluster: group.clusterName, broker_set: group.brokerName, election_result: each }, 0);
    elections.inc({ cluster: group.clusterName, broker_set: group.brokerName, election_result: result });
  });

  const requests = new Counter({
    name: 'request_total',
    help: 'Controller requests by type and outcome (success, failed, timeout)',
    labelNames: ['request_type', 'request_handle_status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'request_latency',
    help: 'Controller request latency in microseconds, by type',
    labelNames: ['request_type'],
    buckets: LATENCY_BUCKETS_US,
    registers: [registry],
  });

  return async (requestType, work) => {
    const startMs = performance.now();
    let status = 'success';
    try {
      return await work();
    } catch (error) {
      status = isRmqError(error, 'CONTROLLER_STORE_UNAVAILABLE') ? 'timeout' : 'failed';
      throw error;
    } finally {
      requests.inc({ request_type: requestType, request_handle_status: status });
      latency.observe({ request_type: requestType }, Math.round((performance.now() - startMs) * 1_000));
    }
  };
}
