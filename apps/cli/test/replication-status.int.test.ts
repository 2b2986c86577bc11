// `rmq replication status` (the real rmq process) against real controller processes: the file
// store's single controller, and two controllers on etcd where the one asked first does not lead.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { controller, createClient } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, startApp, startEtcdCluster, stopAllEtcdClusters } from '@rmq/testing';

const RMQ_BIN = join(__dirname, '../bin/rmq.js');
const dataDir = makeTempDir('cli-replication');

function rmq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RMQ_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [RMQ_BIN, ...args], { timeout: 20_000, env }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

async function heartbeat(address: string, brokerId: number): Promise<void> {
  const client = createClient(controller.ControllerService, address);
  try {
    await client.brokerHeartbeat({
      clusterName: 'c1', brokerName: 'broker-a', brokerId: BigInt(brokerId), endpoint: `127.0.0.1:${18_080 + brokerId}`,
      incarnation: `inc-${brokerId}`, role: controller.ReplicaRole.SLAVE, logEndOffset: 42n,
    }, { deadlineMs: 5_000 });
  } finally {
    client.close();
  }
}

afterAll(async () => {
  await killAllApps();
  await stopAllEtcdClusters();
  dataDir.remove();
});

describe('rmq replication status', () => {
  it('shows every group with its master, epoch, in-sync set and brokers, as text and as JSON', async () => {
    // A long broker timeout: the brokers below beat once, and must still count as alive when rmq asks.
    const app = await startApp('replication', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dataDir.path, '--broker-timeout-ms', '60000',
    ]);
    const address = app.endpoints.grpc;
    await eventually(() => heartbeat(address, 1), { timeoutMs: 5_000 });
    await heartbeat(address, 2);
    const text = await rmq(['replication', 'status', '--controller', address]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`controller leader ${address}`);
    expect(lines[2]).toMatch(/^broker-a \(cluster c1\)  epoch 1  master 1 at 127\.0\.0\.1:18081 \(alive\)  in-sync \[1\] v1/);
    expect(lines[4]).toMatch(/^ 1  127\.0\.0\.1:18081  slave\s+0  yes\s+yes\s+\d+\.\d s ago\s+42/);
    expect(lines[5]).toMatch(/^ 2  127\.0\.0\.1:18082  slave\s+0  no\s+yes/);

    const json = await rmq(['replication', 'status', '--controller', address, '--json']);
    expect(json.code).toBe(0);
    const reply = JSON.parse(json.stdout);
    expect(reply.groups[0]).toMatchObject({ brokerName: 'broker-a', epoch: '1', masterBrokerId: '1', inSyncBrokerIds: ['1'] });
    expect(reply.groups[0].brokers.map((b: { brokerId: string }) => b.brokerId)).toEqual(['1', '2']);
  }, 30_000);

  it('finds the leader among several controllers when the first one asked does not lead', async () => {
    const etcd = await startEtcdCluster(1);
    const args = (label: string) => startApp('replication', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--etcd', etcd.endpoints.join(',')], { label });
    const first = await args('controller-1');
    const second = await args('controller-2');
    const status = createClient(controller.ControllerService, first.endpoints.grpc);
    const leader = await eventually(async () => {
      const reply = await status.getControllerStatus({}, { deadlineMs: 2_000 });
      if (!reply.leaderEndpoint) throw new Error('no leader yet');
      return reply.leaderEndpoint;
    });
    status.close();
    const follower = leader === first.endpoints.grpc ? second : first;
    const run = await rmq(['replication', 'status', '--controller', follower.endpoints.grpc]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.split('\n')[0]).toBe(`controller leader ${leader}`);
  }, 30_000);

  it('says which controllers it could not reach, exit code 1', async () => {
    const run = await rmq(['replication', 'status', '--controller', '127.0.0.1:1', '--timeout-ms', '1000']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot read the replication status');
    expect(run.stderr).toContain('controller at 127.0.0.1:1');
  }, 30_000);
});
