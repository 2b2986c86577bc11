import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { controller, errorCodeOf } from '@rmq/contracts';
import { appMainPath, eventually, killAllApps, makeTempDir, sampleValue, startApp, type AppProcess, scrapeMetrics } from '@rmq/testing';
import { ControllerChannels, SimulatedBroker } from './simulated-broker';

const BROKER_TIMEOUT_MS = 1_000;
const HEARTBEAT_INTERVAL_MS = 100;
const CALL_DEADLINE_MS = 2_000;

const dataDir = makeTempDir('replication');
const brokers: SimulatedBroker[] = [];
let channels: ControllerChannels;

function startController(): Promise<AppProcess> {
  return startApp('replication', [
    '--listen', '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--data-dir', dataDir.path,
    '--broker-timeout-ms', String(BROKER_TIMEOUT_MS),
    '--heartbeat-interval-ms', String(HEARTBEAT_INTERVAL_MS),
    '--scan-interval-ms', '50',
  ]);
}

function broker(brokerName: string, brokerId: number): SimulatedBroker {
  const created = new SimulatedBroker(channels, brokerName, brokerId);
  brokers.push(created);
  return created;
}


afterAll(async () => {
  for (const each of brokers) each.stop();
  channels?.close();
  await killAllApps();
  dataDir.remove();
});

describe('replication controller (file store)', () => {
  let app: AppProcess;
  const a1 = () => brokers[0];
  const a2 = () => brokers[1];

  beforeAll(async () => {
    app = await startController();
    channels = new ControllerChannels([app.endpoints.grpc]);
    broker('broker-a', 1);
    broker('broker-a', 2);
    // A controller that just started elects nobody for one broker timeout.
    await eventually(async () => expect((await channels.client(app.endpoints.grpc).getControllerStatus({})).inGracePeriod).toBe(false));
  });

  it('makes the first broker master in epoch 1; the next one is told to follow it', async () => {
    expect(await a1().beat()).toMatchObject({ role: controller.ReplicaRole.MASTER, epoch: 1n, masterBrokerId: 1n, inSyncBrokerIds: [1n] });
    expect(await a2().beat()).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 1n, masterBrokerId: 1n, masterEndpoint: a1().endpoint, masterAlive: true });
  });

  it('grows the in-sync set when the master asks with a caught-up slave, and refuses an old version', async () => {
    a1().logEndOffset = 4_096;
    a1().slaves = [{ brokerId: 2, ackedLogOffset: 4_096, behindMs: 0 }];
    a2().logEndOffset = 4_096;
    await a1().beat(); // the master reports its epoch start
    const client = channels.client(app.endpoints.grpc);
    const request = {
      clusterName: 'c1', brokerName: 'broker-a', masterBrokerId: 1n, epoch: 1n, inSyncSetVersion: 1n, inSyncBrokerIds: [1n, 2n],
      slaves: [{ brokerId: 2n, ackedLogOffset: 4_096n, behindMs: 0n }], confirmedLogOffset: 4_096n, logEndOffset: 4_096n,
    };
    const grown = await client.alterInSyncSet(request, { deadlineMs: CALL_DEADLINE_MS });
    expect(grown.assignment).toMatchObject({ inSyncBrokerIds: [1n, 2n], inSyncSetVersion: 2n, epochStartLogOffset: 0n });
    const stale = await client.alterInSyncSet({ ...request, inSyncBrokerIds: [1n] }, { deadlineMs: CALL_DEADLINE_MS }).catch((e: unknown) => e);
    expect((stale as grpc.ServiceError).code).toBe(grpc.status.ALREADY_EXISTS);
    expect(errorCodeOf(stale)).toBe('FENCED');
  });

  it('elects the in-sync slave in epoch 2 within the broker timeout after the master goes silent', async () => {
    a2().start(HEARTBEAT_INTERVAL_MS);
    await eventually(() => expect(a2().role).toBe('master'), { timeoutMs: 5_000, intervalMs: 20 });
    const tookMs = a2().lastBeatMs - a1().lastBeatMs;
    expect(a2().epoch).toBe(2);
    expect(tookMs).toBeLessThan(BROKER_TIMEOUT_MS + 1_500);
    process.stdout.write(`slave told it is master ${tookMs} ms after the master's last heartbeat (broker timeout ${BROKER_TIMEOUT_MS} ms)\n`);
    const group = await channels.client(app.endpoints.grpc).getReplicaGroup({ brokerName: 'broker-a' }, { deadlineMs: CALL_DEADLINE_MS });
    expect(group.group).toMatchObject({ epoch: 2n, masterBrokerId: 2n, inSyncBrokerIds: [2n], masterAlive: true });
    expect(group.group!.brokers.map((b) => [b.brokerId, b.alive])).toEqual([[1n, false], [2n, true]]);
  });

  it('keeps a dead master when its only live broker is out of sync: no unclean election', async () => {
    const b1 = broker('broker-b', 1);
    const b2 = broker('broker-b', 2);
    await b1.beat();
    b2.start(HEARTBEAT_INTERVAL_MS);
    await eventually(
      async () => expect(sampleValue(await scrapeMetrics(app), 'election_total', { broker_set: 'broker-b', election_result: 'no_master_elected' })).toBe(1),
      { timeoutMs: 10_000 },
    );
    expect(await b2.beat()).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 1n, masterBrokerId: 1n, masterAlive: false });
  });

  it('serves /health and the controller metrics under RocketMQ\'s names', async () => {
    expect((await fetch(`http://${app.endpoints.http}/health`)).status).toBe(200);
    const text = await scrapeMetrics(app);
    expect(sampleValue(text, 'rmq_controller_epoch', { broker_name: 'broker-a' })).toBe(2);
    expect(sampleValue(text, 'rmq_controller_in_sync_set_size', { broker_name: 'broker-a' })).toBe(1);
    expect(sampleValue(text, 'active_broker_num', { cluster: 'c1', broker_set: 'broker-a' })).toBe(1);
    expect(sampleValue(text, 'election_total', { broker_set: 'broker-a', election_result: 'new_master_elected' })).toBe(2);
    expect(sampleValue(text, 'role', { address: app.endpoints.grpc })).toBe(3);
    expect(sampleValue(text, 'request_total', { request_type: 'broker_heartbeat', request_handle_status: 'success' })).toBeGreaterThan(3);
    expect(sampleValue(text, 'request_latency_count', { request_type: 'broker_heartbeat' })).toBeGreaterThan(3);
  });

  it('refuses bad requests with BAD_REQUEST and unknown groups with NOT_FOUND', async () => {
    const client = channels.client(app.endpoints.grpc);
    const bad = await client.brokerHeartbeat({ brokerName: '', clusterName: 'c1' }, { deadlineMs: CALL_DEADLINE_MS }).catch((e: unknown) => e);
    expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(bad)).toBe('BAD_REQUEST');
    const noRole = await client.brokerHeartbeat(
      { clusterName: 'c1', brokerName: 'broker-a', brokerId: 9n, endpoint: 'h:1', incarnation: 'x' },
      { deadlineMs: CALL_DEADLINE_MS },
    ).catch((e: unknown) => e);
    expect((noRole as grpc.ServiceError).details).toContain('role must be');
    const missing = await client.getReplicaGroup({ brokerName: 'broker-z' }, { deadlineMs: CALL_DEADLINE_MS }).catch((e: unknown) => e);
    expect(errorCodeOf(missing)).toBe('NOT_FOUND');
  });

  it('exits 0 on SIGTERM, keeps master, epoch and in-sync set, and waits a broker timeout before electing again', async () => {
    for (const each of brokers) each.stop();
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    app = await startController();
    channels.close();
    channels = new ControllerChannels([app.endpoints.grpc]);
    for (const each of brokers) each.channels = channels;
    const status = await channels.client(app.endpoints.grpc).getControllerStatus({});
    expect(status).toMatchObject({ leader: true, store: 'file', inGracePeriod: true });
    // The live master is not taken for dead after the restart, though the new process never heard of it.
    expect(await a2().beat()).toMatchObject({ role: controller.ReplicaRole.MASTER, epoch: 2n, masterBrokerId: 2n });
    a2().start(HEARTBEAT_INTERVAL_MS);
    // The old master comes back as a new process and is told to follow broker 2.
    a1().restart();
    expect(await a1().beat()).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 2n, masterBrokerId: 2n });
    await eventually(async () => expect((await channels.client(app.endpoints.grpc).getControllerStatus({})).inGracePeriod).toBe(false));
    expect(await a1().beat()).toMatchObject({ epoch: 2n, masterBrokerId: 2n });
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('replication command line', () => {
  it('prints its options for --help', () => {
    const run = spawnSync(process.execPath, [appMainPath('replication'), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--broker-timeout-ms');
    expect(run.stdout).toContain('--etcd');
  });

  it('exits 2 with a message on stderr when neither --data-dir nor --etcd is given', () => {
    const run = spawnSync(process.execPath, [appMainPath('replication'), '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--data-dir');
  });
});
