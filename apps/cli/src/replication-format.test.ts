import { controller, create } from '@rmq/contracts';
import { replicationStatusText } from './replication-format';

const NOW_MS = 1_700_000_000_000;

describe('replicationStatusText', () => {
  it('says so when no group has registered', () => {
    const reply = create(controller.ListReplicaGroupsResponseSchema, {});
    expect(replicationStatusText(reply, '127.0.0.1:9878', NOW_MS)).toBe('controller leader 127.0.0.1:9878\nno broker group has registered with the controller yet');
  });

  it('shows each group\'s master, epoch and in-sync set, and a row per broker with its heartbeat and offsets', () => {
    const reply = create(controller.ListReplicaGroupsResponseSchema, {
      groups: [{
        clusterName: 'c1', brokerName: 'broker-a', epoch: 3n, masterBrokerId: 2n, masterEndpoint: 'h:2', masterAlive: true,
        inSyncBrokerIds: [1n, 2n], inSyncSetVersion: 4n, epochStartLogOffset: 4_096n,
        brokers: [
          { brokerId: 1n, endpoint: 'h:1', reportedRole: controller.ReplicaRole.SLAVE, reportedEpoch: 3n, logEndOffset: 5_000n, confirmedLogOffset: 4_900n,
            lastHeartbeatMs: BigInt(NOW_MS - 300), alive: true, inSync: true, ackedLogOffset: 4_990n, behindMs: 0n },
          { brokerId: 2n, endpoint: 'h:2', reportedRole: controller.ReplicaRole.MASTER, reportedEpoch: 3n, logEndOffset: 5_000n, confirmedLogOffset: 4_990n,
            lastHeartbeatMs: BigInt(NOW_MS - 100), alive: true, inSync: true },
          { brokerId: 3n, endpoint: 'h:3', alive: false, inSync: false },
        ],
      }],
    });
    expect(replicationStatusText(reply, 'h:9878', NOW_MS).split('\n')).toEqual([
      'controller leader h:9878',
      '',
      'broker-a (cluster c1)  epoch 3  master 2 at h:2 (alive)  in-sync [1, 2] v4  epoch start 4096',
      'ID  ENDPOINT  ROLE    EPOCH  IN-SYNC  ALIVE  LAST HEARTBEAT  LOG END  CONFIRMED  ACKED  BEHIND',
      ' 1  h:1       slave       3  yes      yes    0.3 s ago          5000       4900   4990    0 ms',
      ' 2  h:2       master      3  yes      yes    0.1 s ago          5000       4990      -       -',
      ' 3  h:3       -           0  no       no     never                 0          0      -       -',
    ]);
  });
});
