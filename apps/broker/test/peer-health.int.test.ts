// /health names a broker's lost peers: a slave whose master is gone, and a broker whose
// controller stopped answering, each once it lasted longer than --health-peer-lost-ms, with the
// reason; and it is healthy again once the controller is back.
import { join } from 'node:path';
import { admin, createClient } from '@rmq/contracts';
import { eventually, makeTempDir, startApp, killAllApps, type AppProcess } from '@rmq/testing';

const temp = makeTempDir('peer-health');
const BOUND_MS = 1_000;

async function health(app: AppProcess): Promise<{ status: number; problems: string[] }> {
  const response = await fetch(`http://${app.endpoints.http}/health`);
  return { status: response.status, problems: ((await response.json()) as { problems: string[] }).problems };
}

function brokerArgs(dataDir: string, brokerName: string, extra: string[]): string[] {
  return ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, dataDir), '--name-servers', '',
    '--broker-name', brokerName, '--health-peer-lost-ms', String(BOUND_MS), ...extra];
}

afterAll(async () => {
  await killAllApps();
  temp.remove();
});

describe('/health and the broker\'s peers', () => {
  it('reports a slave whose master went away, naming the master and why', async () => {
    const master = await startApp('broker', brokerArgs('master', 'pair', ['--broker-id', '0']), { label: 'master' });
    const slave = await startApp('broker', brokerArgs('slave', 'pair', ['--broker-id', '1', '--role', 'slave', '--master', master.endpoints.grpc]), { label: 'slave' });
    const status = createClient(admin.AdminService, slave.endpoints.grpc);
    try {
      await eventually(async () => expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'slave', following: true }), { timeoutMs: 10_000 });
      expect(await health(slave)).toEqual({ status: 200, problems: [] });
      await master.kill('SIGKILL');
      const seen = await eventually(async () => {
        const now = await health(slave);
        expect(now.status).toBe(503);
        return now.problems;
      }, { timeoutMs: 15_000 });
      expect(seen).toEqual([expect.stringMatching(new RegExp(`^no master: cannot follow ${master.endpoints.grpc} for \\d+ s`))]);
    } finally {
      status.close();
    }
  }, 40_000);

  it('reports a lost controller, and is healthy again once it answers', async () => {
    const controllerArgs = (listen: string) => ['--listen', listen, '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'controller'), '--broker-timeout-ms', '1000', '--heartbeat-interval-ms', '200'];
    let controllerApp = await startApp('replication', controllerArgs('127.0.0.1:0'), { label: 'controller' });
    const address = controllerApp.endpoints.grpc;
    const broker = await startApp('broker', brokerArgs('linked', 'linked', ['--broker-id', '1', '--controller', address]), { label: 'linked' });
    const status = createClient(admin.AdminService, broker.endpoints.grpc);
    try {
      await eventually(async () => expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'master' }), { timeoutMs: 15_000 });
      expect(await health(broker)).toEqual({ status: 200, problems: [] });
      await controllerApp.kill('SIGKILL');
      const seen = await eventually(async () => {
        const now = await health(broker);
        expect(now.status).toBe(503);
        return now.problems;
      }, { timeoutMs: 15_000 });
      expect(seen).toEqual([expect.stringMatching(new RegExp(`^lost controller: no controller of ${address} answered a heartbeat for \\d+ s`))]);
      // Liveness is another matter: restarting the broker would not bring the controller back.
      expect((await fetch(`http://${broker.endpoints.http}/live`)).status).toBe(200);
      // The broker kept its role meanwhile; the controller comes back on the same address.
      expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'master' });
      controllerApp = await startApp('replication', controllerArgs(address), { label: 'controller-again' });
      await eventually(async () => expect(await health(broker)).toEqual({ status: 200, problems: [] }), { timeoutMs: 15_000 });
    } finally {
      status.close();
    }
  }, 60_000);
});
