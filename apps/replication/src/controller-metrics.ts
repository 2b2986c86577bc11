// What the controller shows Prometheus. Names follow RocketMQ's controller metrics where they
// exist (role, active_broker_num, election_total with its labels); the epoch per group is ours.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ElectionResult, ReplicaController } from './replica-controller';

/** RocketMQ's MemberState role values for the `role` gauge: 0 unknown, 1 candidate, 2 follower, 3 leader. */
const ROLE_LEADER = 3;
const ELECTION_RESULTS: readonly ElectionResult[] = ['new_master_elected', 'no_master_elected'];

export function registerControllerMetrics(registry: Registry, replicaController: ReplicaController, address: string): void {
  // One controller with a file store is always the leader of its (single-member) controller group.
  const role = new Gauge({ name: 'role', help: 'Role of this controller node (0 unknown, 1 candidate, 2 follower, 3 leader)', labelNames: ['address'], registers: [registry] });
  role.set({ address }, ROLE_LEADER);

  new Gauge({
    name: 'active_broker_num',
    help: 'Live replicas per broker group, by their heartbeats',
    labelNames: ['cluster', 'broker_set'],
    registers: [registry],
    collect() {
      this.reset();
      for (const group of replicaController.groups()) {
        this.set({ cluster: group.clusterName, broker_set: group.brokerName }, replicaController.aliveReplicaCount(group));
      }
    },
  });

  new Gauge({
    name: 'rmq_controller_epoch',
    help: 'Current epoch of each broker group',
    labelNames: ['broker_name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const group of replicaController.groups()) this.set({ broker_name: group.brokerName }, group.epoch);
    },
  });

  const elections = new Counter({
    name: 'election_total',
    help: 'Master elections by result; a group without a live in-sync replica counts once per outage',
    labelNames: ['cluster', 'broker_set', 'election_result'],
    registers: [registry],
  });
  const zeroElections = (cluster: string, brokerSet: string) => {
    for (const result of ELECTION_RESULTS) elections.inc({ cluster, broker_set: brokerSet, election_result: result }, 0);
  };
  for (const group of replicaController.groups()) zeroElections(group.clusterName, group.brokerName);
  replicaController.onElection((group, result) => {
    zeroElections(group.clusterName, group.brokerName);
    elections.inc({ cluster: group.clusterName, broker_set: group.brokerName, election_result: result });
  });
}
