// Replication's Prometheus series, read from the replica role at scrape time: role, epoch,
// committed offset, the in-sync set's size and each slave's lag (on a master), the lag behind the
// master (on a slave).
import { Gauge, type Registry } from 'prom-client';
import type { ReplicaRole } from './replica-role';

export function createReplicationMetrics(registry: Registry, replica: () => ReplicaRole | undefined): void {
  const scrape = <L extends string>(name: string, help: string, labelNames: L[], collect: (gauge: Gauge<L>, role: ReplicaRole) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const role = replica();
        if (!role) return;
        this.reset();
        collect(this, role);
      },
    });
  scrape('rmq_replication_role', 'this broker\'s role in its replica group: 1 on the active role', ['role'], (gauge, role) => {
    gauge.set({ role: 'master' }, role.role() === 'master' ? 1 : 0);
    gauge.set({ role: 'slave' }, role.role() === 'slave' ? 1 : 0);
  });
  scrape('rmq_replication_epoch', 'the epoch this broker is in (the last entry of its epoch file)', [], (gauge, role) => gauge.set(role.epoch()));
  scrape('rmq_replication_committed_offset_bytes', 'log offset below which every in-sync replica has the log (sends answered, reads allowed)', [], (gauge, role) => {
    gauge.set(role.status().committedLogOffset);
  });
  scrape('rmq_replication_in_sync_replicas', 'a master\'s in-sync set, itself included', [], (gauge, role) => {
    const status = role.status();
    if (status.role === 'master') gauge.set(status.inSyncReplicas);
  });
  scrape('rmq_replication_slave_lag_bytes', 'a master\'s view of each following slave: bytes behind its written end', ['replica'], (gauge, role) => {
    const status = role.status();
    if (status.role === 'master') for (const slave of status.slaves) gauge.set({ replica: slave.replicaId }, slave.lagBytes);
    else gauge.set({ replica: 'self' }, status.lagBytes);
  });
  scrape('rmq_replication_slave_lag_seconds', 'a master\'s view of each following slave: time since it last had everything the master had', ['replica'], (gauge, role) => {
    const status = role.status();
    if (status.role === 'master') for (const slave of status.slaves) gauge.set({ replica: slave.replicaId }, slave.lagMs / 1000);
  });
  scrape('rmq_replication_slave_in_sync', 'a master\'s view of each following slave: 1 while it is in the in-sync set', ['replica'], (gauge, role) => {
    const status = role.status();
    if (status.role === 'master') for (const slave of status.slaves) gauge.set({ replica: slave.replicaId }, slave.inSync ? 1 : 0);
  });
}
