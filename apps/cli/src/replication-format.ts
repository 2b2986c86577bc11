// Text of `rmq replication status`: per group, a summary line and one row per broker. Pure: time
// comes in as nowMs.
import { controller } from '@rmq/contracts';
import { ageText, table } from './format';

export function replicationStatusText(reply: controller.ListReplicaGroupsResponse, leader: string, nowMs: number): string {
  const header = `controller leader ${leader}`;
  if (reply.groups.length === 0) return `${header}\nno broker group has registered with the controller yet`;
  return [header, ...reply.groups.map((group) => groupText(group, nowMs))].join('\n\n');
}

function groupText(group: controller.ReplicaGroupStatus, nowMs: number): string {
  const epochStart = group.epochStartLogOffset === undefined ? 'not reported yet' : String(group.epochStartLogOffset);
  const summary =
    `${group.brokerName} (cluster ${group.clusterName})  epoch ${group.epoch}  ` +
    `master ${group.masterBrokerId} at ${group.masterEndpoint} (${group.masterAlive ? 'alive' : 'DOWN'})  ` +
    `in-sync [${group.inSyncBrokerIds.join(', ')}] v${group.inSyncSetVersion}  epoch start ${epochStart}`;
  const rows = group.brokers.map((broker) => [
    String(broker.brokerId),
    broker.endpoint,
    roleText(broker.reportedRole),
    String(broker.reportedEpoch),
    broker.inSync ? 'yes' : 'no',
    broker.alive ? 'yes' : 'no',
    broker.lastHeartbeatMs === 0n ? 'never' : ageText(Number(broker.lastHeartbeatMs), nowMs),
    String(broker.logEndOffset),
    String(broker.confirmedLogOffset),
    broker.ackedLogOffset === undefined ? '-' : String(broker.ackedLogOffset),
    broker.behindMs === undefined ? '-' : `${broker.behindMs} ms`,
  ]);
  const headers = ['ID', 'ENDPOINT', 'ROLE', 'EPOCH', 'IN-SYNC', 'ALIVE', 'LAST HEARTBEAT', 'LOG END', 'CONFIRMED', 'ACKED', 'BEHIND'];
  return `${summary}\n${table(headers, rows, [0, 3, 7, 8, 9, 10])}`;
}

function roleText(role: controller.ReplicaRole): string {
  switch (role) {
    case controller.ReplicaRole.MASTER:
      return 'master';
    case controller.ReplicaRole.SLAVE:
      return 'slave';
    default:
      return '-';
  }
}
