import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { controller, createClient, errorCodeOf } from '@rmq/contracts';
import { appMainPath, eventually, killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';
import { sampleValue } from '@rmq/testing';

type ControllerClient = ReturnType<typeof createControllerClient>;

function createControllerClient(address: string) {
  return createClient(controller.ControllerService, address);
}

const REPLICA_TIMEOUT_MS = 1_000;
const HEARTBEAT_INTERVAL_MS = 100;
const CALL_DEADLINE_MS = 2_000;

const dataDir = makeTempDir('replication');
const clients: ControllerClient[] = [];
const drivers: ReplicaDriver[] = [];

function startController(): Promise<AppProcess> {
  return startApp('replication', [
    '--listen', '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--data-dir', dataDir.path,
    '--replica-timeout-ms', String(REPLICA_TIMEOUT_MS),
    '--scan-interval-ms', '100',
  ]);
}

function connect(app: AppProcess): ControllerClient {
  const client = createControllerClient(app.endpoints.grpc);
  clients.push(client);
  return client;
}

function heartbeat(client: ControllerClient, brokerName: string, replicaId: string, logEndOffset: number) {
  return client.replicaHeartbeat(
    { clusterName: 'c1', brokerName, replicaId, endpoint: `127.0.0.1:${10_000 + Number(replicaId.slice(1))}`, logEndOffset: BigInt(logEndOffset) },
    { deadlineMs: CALL_DEADLINE_MS },
  );
}

/** Keeps one replica heartbeating, as a broker would, until stopped. */
class ReplicaDriver {
  private readonly timer: NodeJS.Timeout;
  constructor(client: ControllerClient, brokerName: string, replicaId: string, logEndOffset: number) {
    this.timer = setInterval(() => {
      heartbeat(client, brokerName, replicaId, logEndOffset).catch(() => undefined); // the test asserts on state, not on each beat
    }, HEARTBEAT_INTERVAL_MS);
    drivers.push(this);
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

async function metricsText(app: AppProcess): Promise<string> {
  const response = await fetch(`http://${app.endpoints.http}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

afterAll(async () => {
  for (const driver of drivers) driver.stop();
  for (const client of clients) client.close();
  await killAllApps();
  dataDir.remove();
});

describe('replication controller', () => {
  let app: AppProcess;
  let client: ControllerClient;

  beforeAll(async () => {
    app = await startController();
    client = connect(app);
  });

  it('makes the first replica master in epoch 1 and adds replicas that caught up to the in-sync set', async () => {
    expect(await heartbeat(client, 'broker-a', 'r1', 100)).toMatchObject({ role: controller.ReplicaRole.MASTER, epoch: 1n, masterReplicaId: 'r1' });
    expect(await heartbeat(client, 'broker-a', 'r2', 100)).toMatchObject({
      role: controller.ReplicaRole.SLAVE,
      epoch: 1n,
      masterReplicaId: 'r1',
      masterEndpoint: '127.0.0.1:10001',
    });
    // The master moves on to 300; r3 gets to 200 and so never catches up; r2 stays in sync from before.
    await heartbeat(client, 'broker-a', 'r1', 300);
    await heartbeat(client, 'broker-a', 'r3', 200);

    const group = await client.getReplicaGroup({ brokerName: 'broker-a' }, { deadlineMs: CALL_DEADLINE_MS });
    expect(group).toMatchObject({ brokerName: 'broker-a', epoch: 1n, masterReplicaId: 'r1', inSyncReplicaIds: ['r1', 'r2'] });
    expect(group.replicas.map((r) => [r.replicaId, r.logEndOffset, r.alive])).toEqual([
      ['r1', 300n, true],
      ['r2', 100n, true],
      ['r3', 200n, true],
    ]);
  });

  it('elects the in-sync replica in epoch 2 when the master stops heartbeating, not the out-of-sync one with the longer log', async () => {
    new ReplicaDriver(client, 'broker-a', 'r2', 100);
    new ReplicaDriver(client, 'broker-a', 'r3', 200);
    // r1 sends nothing more.
    const group = await eventually(
      async () => {
        const reply = await client.getReplicaGroup({ brokerName: 'broker-a' }, { deadlineMs: CALL_DEADLINE_MS });
        expect(reply.epoch).toBe(2n);
        return reply;
      },
      { timeoutMs: 10_000 },
    );
    expect(group.masterReplicaId).toBe('r2');
    expect(group.inSyncReplicaIds).toContain('r2');
    expect(group.replicas.find((r) => r.replicaId === 'r1')?.alive).toBe(false);
  });

  it('keeps a dead master when its only live replica is out of sync: no unclean election', async () => {
    await heartbeat(client, 'broker-b', 'r1', 100);
    new ReplicaDriver(client, 'broker-b', 'r2', 10);
    await eventually(
      async () => expect(sampleValue(await metricsText(app), 'election_total', { broker_set: 'broker-b', election_result: 'no_master_elected' })).toBe(1),
      { timeoutMs: 10_000 },
    );
    const group = await client.getReplicaGroup({ brokerName: 'broker-b' }, { deadlineMs: CALL_DEADLINE_MS });
    expect(group).toMatchObject({ epoch: 1n, masterReplicaId: 'r1', inSyncReplicaIds: ['r1'] });
    expect(await heartbeat(client, 'broker-b', 'r2', 10)).toMatchObject({ role: controller.ReplicaRole.SLAVE, masterReplicaId: 'r1', epoch: 1n });
  });

  it('serves /health and the controller metrics', async () => {
    const health = await fetch(`http://${app.endpoints.http}/health`);
    expect(health.status).toBe(200);
    const text = await metricsText(app);
    expect(sampleValue(text, 'rmq_controller_epoch', { broker_name: 'broker-a' })).toBe(2);
    expect(sampleValue(text, 'rmq_controller_epoch', { broker_name: 'broker-b' })).toBe(1);
    expect(sampleValue(text, 'active_broker_num', { cluster: 'c1', broker_set: 'broker-a' })).toBe(2);
    expect(sampleValue(text, 'election_total', { broker_set: 'broker-a', election_result: 'new_master_elected' })).toBe(2);
    expect(sampleValue(text, 'role', { address: app.endpoints.grpc })).toBe(3);
  });

  it('refuses bad requests with BAD_REQUEST and unknown groups with NOT_FOUND', async () => {
    const bad = await heartbeat(client, '', 'r1', 1).catch((error: unknown) => error);
    expect((bad as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorCodeOf(bad)).toBe('BAD_REQUEST');
    const negative = await heartbeat(client, 'broker-a', 'r9', -1).catch((error: unknown) => error);
    expect(errorCodeOf(negative)).toBe('BAD_REQUEST');
    const missing = await client.getReplicaGroup({ brokerName: 'broker-z' }, { deadlineMs: CALL_DEADLINE_MS }).catch((error: unknown) => error);
    expect((missing as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    expect(errorCodeOf(missing)).toBe('NOT_FOUND');
  });

  it('exits 0 on SIGTERM and keeps master, epoch and in-sync set across a restart', async () => {
    for (const driver of drivers) driver.stop();
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    app = await startController();
    client = connect(app);
    const group = await client.getReplicaGroup({ brokerName: 'broker-a' }, { deadlineMs: CALL_DEADLINE_MS });
    expect(group).toMatchObject({ epoch: 2n, masterReplicaId: 'r2' });
    expect(group.inSyncReplicaIds).toContain('r2');
    // The old master comes back and is told it is a slave of r2 in epoch 2.
    expect(await heartbeat(client, 'broker-a', 'r1', 300)).toMatchObject({ role: controller.ReplicaRole.SLAVE, epoch: 2n, masterReplicaId: 'r2' });
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('replication command line', () => {
  it('prints its options for --help', () => {
    const run = spawnSync(process.execPath, [appMainPath('replication'), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--replica-timeout-ms');
  });

  it('exits 2 with a message on stderr when a required option is missing', () => {
    const run = spawnSync(process.execPath, [appMainPath('replication'), '--listen', '127.0.0.1:0'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--data-dir');
  });
});
