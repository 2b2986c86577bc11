// Three controllers on a three-node etcd, all real processes on loopback. The leading controller
// is SIGKILLed in the middle of a broker failover: another one leads within 5 s, the failover
// completes, and no epoch is ever issued to two brokers. Then etcd loses its majority: nothing is
// elected, and once etcd is back, nothing committed before is lost.
import { controller } from '@rmq/contracts';
import { alwaysFor, eventually, killAllApps, startApp, startEtcdCluster, stopAllEtcdClusters, type AppProcess, type EtcdCluster } from '@rmq/testing';
import { ControllerChannels, SimulatedBroker } from './simulated-broker';

const BROKER_TIMEOUT_MS = 1_000;
const HEARTBEAT_INTERVAL_MS = 100;
const CALL_DEADLINE_MS = 2_000;

let etcd: EtcdCluster;
let controllers: AppProcess[] = [];
let channels: ControllerChannels;
const brokers: SimulatedBroker[] = [];

function startController(label: string): Promise<AppProcess> {
  return startApp('replication', [
    '--listen', '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--etcd', etcd.endpoints.join(','),
    '--etcd-prefix', '/rmq-ha-test',
    '--broker-timeout-ms', String(BROKER_TIMEOUT_MS),
    '--heartbeat-interval-ms', String(HEARTBEAT_INTERVAL_MS),
    '--scan-interval-ms', '50',
  ], { label });
}

async function leaderOf(candidates: AppProcess[]): Promise<AppProcess> {
  for (const app of candidates) {
    const status = await channels.client(app.endpoints.grpc).getControllerStatus({}, { deadlineMs: CALL_DEADLINE_MS }).catch(() => undefined);
    if (status?.leader) return app;
  }
  throw new Error('no controller leads');
}

/** Every (epoch -> master broker id) any broker was told: one master per epoch, ever. */
function epochOwners(): Map<number, Set<number>> {
  const owners = new Map<number, Set<number>>();
  for (const broker of brokers) {
    for (const seen of broker.seen) {
      if (seen.role !== 'master') continue;
      owners.set(seen.epoch, new Set([...(owners.get(seen.epoch) ?? []), broker.brokerId]));
    }
  }
  return owners;
}

beforeAll(async () => {
  etcd = await startEtcdCluster(3);
  controllers = await Promise.all(['controller-1', 'controller-2', 'controller-3'].map(startController));
  channels = new ControllerChannels(controllers.map((app) => app.endpoints.grpc));
  brokers.push(new SimulatedBroker(channels, 'broker-a', 1), new SimulatedBroker(channels, 'broker-a', 2));
}, 40_000);

afterAll(async () => {
  for (const broker of brokers) broker.stop();
  channels?.close();
  await killAllApps();
  await stopAllEtcdClusters();
});

describe('controllers on etcd', () => {
  const [b1, b2] = [() => brokers[0], () => brokers[1]];

  it('has one leader; the others redirect brokers to it', async () => {
    // Leadership settles at start (a campaign can lose its lease while the machine is busy): wait
    // until all three agree on one leader.
    const leader = await eventually(async () => {
      const candidate = await leaderOf(controllers);
      for (const app of controllers) {
        const status = await channels.client(app.endpoints.grpc).getControllerStatus({});
        expect(status).toMatchObject({ store: 'etcd', leader: app === candidate, leaderEndpoint: candidate.endpoints.grpc });
      }
      return candidate;
    }, { timeoutMs: 10_000 });
    // Past the new leader's grace period, the first broker becomes master in epoch 1.
    await eventually(async () => expect((await channels.client(leader.endpoints.grpc).getControllerStatus({})).inGracePeriod).toBe(false));
    expect(await b1().beat()).toMatchObject({ role: controller.ReplicaRole.MASTER, epoch: 1n });
    expect(await b2().beat()).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 1n, masterBrokerId: 1n });
    const follower = controllers.find((app) => app !== leader)!;
    const refused = await channels.client(follower.endpoints.grpc).listReplicaGroups({}).catch((error: unknown) => error);
    expect((refused as { metadata: { get(key: string): unknown[] } }).metadata.get('rmq-controller-leader')).toEqual([leader.endpoints.grpc]);
  }, 20_000);

  it('finishes a broker failover through a SIGKILL of the leading controller: a new leader within 5 s, no epoch issued twice', async () => {
    b1().logEndOffset = 1_000;
    b1().slaves = [{ brokerId: 2, ackedLogOffset: 1_000, behindMs: 0 }];
    b2().logEndOffset = 1_000;
    await b1().beat();
    const leader = await leaderOf(controllers);
    await channels.call((client, options) => client.alterInSyncSet({
      clusterName: 'c1', brokerName: 'broker-a', masterBrokerId: 1n, epoch: 1n, inSyncSetVersion: 1n, inSyncBrokerIds: [1n, 2n],
      slaves: [{ brokerId: 2n, ackedLogOffset: 1_000n, behindMs: 0n }], confirmedLogOffset: 1_000n, logEndOffset: 1_000n,
    }, options));
    b2().start(HEARTBEAT_INTERVAL_MS);

    // The master dies; before the leader can notice it, the leader dies too.
    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const survivors = controllers.filter((app) => app !== leader);
    const newLeader = await eventually(() => leaderOf(survivors), { timeoutMs: 5_000, intervalMs: 50 });
    const leadsAfterMs = Date.now() - killedAt;
    expect(leadsAfterMs).toBeLessThan(5_000);

    await eventually(() => expect(b2().role).toBe('master'), { timeoutMs: 10_000, intervalMs: 20 });
    expect(b2().epoch).toBe(2);
    for (const [epoch, owners] of epochOwners()) expect([epoch, owners.size]).toEqual([epoch, 1]);
    const group = await channels.client(newLeader.endpoints.grpc).getReplicaGroup({ brokerName: 'broker-a' }, { deadlineMs: CALL_DEADLINE_MS });
    expect(group.group).toMatchObject({ epoch: 2n, masterBrokerId: 2n, inSyncBrokerIds: [2n] });
    process.stdout.write(`new controller leader ${leadsAfterMs} ms after the SIGKILL of the old one\n`);
    controllers = survivors;
  }, 30_000);

  it('elects nobody while etcd has lost its majority, and has lost nothing once etcd is back', async () => {
    // The old master returns, catches up and rejoins the in-sync set of epoch 2.
    b1().restart();
    b1().start(HEARTBEAT_INTERVAL_MS);
    await eventually(() => expect(b1().last).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 2n, masterBrokerId: 2n }));
    b2().slaves = [{ brokerId: 1, ackedLogOffset: 1_000, behindMs: 0 }];
    await b2().beat();
    await channels.call((client, options) => client.alterInSyncSet({
      clusterName: 'c1', brokerName: 'broker-a', masterBrokerId: 2n, epoch: 2n, inSyncSetVersion: 3n, inSyncBrokerIds: [1n, 2n],
      slaves: [{ brokerId: 1n, ackedLogOffset: 1_000n, behindMs: 0n }], confirmedLogOffset: 1_000n, logEndOffset: 1_000n,
    }, options));

    // etcd loses two of three members; then the master dies. Broker 1 is an eligible candidate,
    // yet no controller can commit its election.
    await etcd.members[0].kill('SIGKILL');
    await etcd.members[1].kill('SIGKILL');
    b2().stop();
    await alwaysFor(() => expect([b1().role, b1().epoch]).toEqual(['slave', 2]), { durationMs: 4 * BROKER_TIMEOUT_MS });
    expect(b1().seen.filter((seen) => seen.role === 'master')).toEqual([{ epoch: 1, role: 'master' }]);

    // etcd is back: the committed state is all there, and the election happens, in epoch 3.
    await etcd.members[0].start();
    await etcd.members[1].start();
    await etcd.waitHealthy();
    await eventually(() => expect(b1().role).toBe('master'), { timeoutMs: 15_000, intervalMs: 50 });
    expect(b1().epoch).toBe(3);
    for (const [epoch, owners] of epochOwners()) expect([epoch, owners.size]).toEqual([epoch, 1]);
  }, 40_000);
});
