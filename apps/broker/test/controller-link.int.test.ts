// Brokers started with --controller take their role and epoch from a real controller process:
// the first one becomes master after writing its epoch; a second one stays a slave that refuses
// sends; a master that restarts after a crash comes back as a slave and serves again only in a
// new epoch the controller gives it. Without --controller nothing changes (other suites).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { admin, controller, createClient, v2 } from '@rmq/contracts';
import { commitLogSegments, eventually, firstDifference, killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const dirs = [makeTempDir('link-controller'), makeTempDir('link-broker-1'), makeTempDir('link-broker-2')];
const clients: { close(): void }[] = [];

function startBroker(brokerId: number, controllerEndpoint: string): Promise<AppProcess> {
  return startApp('broker', [
    '--listen', '127.0.0.1:0',
    '--http-listen', '127.0.0.1:0',
    '--data-dir', dirs[brokerId].path,
    '--name-servers', '',
    '--broker-name', 'linked',
    '--broker-id', String(brokerId),
    '--controller', controllerEndpoint,
    '--auto-create-topics',
  ], { label: `broker-${brokerId}` });
}

function controllerClient(address: string) {
  return createClient(controller.ControllerService, address);
}

function adminOf(app: AppProcess) {
  const client = createClient(admin.AdminService, app.endpoints.grpc);
  clients.push(client);
  return client;
}

function epochsOf(brokerId: number): { epoch: number; startLogOffset: number }[] {
  return JSON.parse(readFileSync(join(dirs[brokerId].path, 'store', 'epochs.json'), 'utf8')).entries;
}

afterAll(async () => {
  for (const client of clients) client.close();
  await killAllApps();
  for (const dir of dirs) dir.remove();
});

describe('broker controller link', () => {
  let controllerApp: AppProcess;
  let group: ReturnType<typeof controllerClient>;

  beforeAll(async () => {
    controllerApp = await startApp('replication', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirs[0].path,
      '--broker-timeout-ms', '1000', '--heartbeat-interval-ms', '200',
    ]);
    group = controllerClient(controllerApp.endpoints.grpc);
    clients.push(group);
    await eventually(async () => expect((await group.getControllerStatus({})).inGracePeriod).toBe(false));
  }, 30_000);

  it('makes the first broker master in epoch 1 after its epoch file says so, and it takes sends', async () => {
    const broker = await startBroker(1, controllerApp.endpoints.grpc);
    const status = adminOf(broker);
    await eventually(async () => expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'master', epoch: 1n }), { timeoutMs: 10_000 });
    // Epoch 1 is on disk; whatever the broker logged before (its own state records) counts as epoch 0.
    expect(epochsOf(1).map((entry) => entry.epoch).filter((epoch) => epoch > 0)).toEqual([1]);
    const messaging = createClient(v2.MessagingService, broker.endpoints.grpc);
    clients.push(messaging);
    const reply = await messaging.sendMessage({
      messages: [{ topic: { name: 'Linked' }, body: Buffer.from('hello'), systemProperties: { messageId: 'id-1', bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
    }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
    // The controller heard the master's epoch start.
    const epochOne = epochsOf(1).find((entry) => entry.epoch === 1)!;
    await eventually(async () =>
      expect((await group.getReplicaGroup({ brokerName: 'linked' })).group).toMatchObject({ epoch: 1n, masterBrokerId: 1n, epochStartLogOffset: BigInt(epochOne.startLogOffset) }));
  }, 30_000);

  it('keeps a second broker a slave that refuses sends and copies the master\'s log', async () => {
    const broker = await startBroker(2, controllerApp.endpoints.grpc);
    const status = adminOf(broker);
    await eventually(async () => {
      const view = (await group.getReplicaGroup({ brokerName: 'linked' })).group!;
      expect(view.brokers.map((b) => [b.brokerId, b.alive, b.reportedRole])).toEqual([[1n, true, controller.ReplicaRole.MASTER], [2n, true, controller.ReplicaRole.SLAVE]]);
    }, { timeoutMs: 10_000 });
    expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'slave' });
    const messaging = createClient(v2.MessagingService, broker.endpoints.grpc);
    clients.push(messaging);
    const reply = await messaging.sendMessage({
      messages: [{ topic: { name: 'Linked' }, body: Buffer.from('no'), systemProperties: { messageId: 'id-2', bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
    }, { deadlineMs: 5_000 });
    // A slave forwards a client's send to the master the controller named (the failover path).
    expect(reply.status?.code).toBe(v2.Code.OK);
    // The controller named broker 1 its master: it copies broker 1's log, byte for byte.
    const master = (await group.getReplicaGroup({ brokerName: 'linked' })).group!;
    expect(master.masterBrokerId).toBe(1n);
    await eventually(async () => {
      const slave = await status.getBrokerStatus({}, { deadlineMs: 2_000 });
      expect(slave).toMatchObject({ following: true, lagBytes: 0n });
      expect(slave.confirmedOffset).toBeGreaterThan(0n);
    }, { timeoutMs: 10_000 });
    const masterLog = commitLogSegments(dirs[1].path);
    expect(firstDifference(masterLog, commitLogSegments(dirs[2].path))).toBeUndefined();
    await broker.kill('SIGTERM');
  }, 30_000);

  it('brings a crashed master back as a slave, then master again only in a new epoch', async () => {
    await killAllApps(); // the master (and the controller) crash
    controllerApp = await startApp('replication', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirs[0].path,
      '--broker-timeout-ms', '1000', '--heartbeat-interval-ms', '200',
    ]);
    group = controllerClient(controllerApp.endpoints.grpc);
    clients.push(group);
    const broker = await startBroker(1, controllerApp.endpoints.grpc);
    const status = adminOf(broker);
    await eventually(async () => expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'master', epoch: 2n }), { timeoutMs: 10_000 });
    // A restarted master served nothing before the controller elected it anew: its first role
    // change was writing the new epoch, then serving in it.
    const actions = broker.logs.filter((line) => line.msg === 'role action done').map((line) => `${line.action}@${line.epoch ?? ''}`);
    expect(actions.slice(0, 3)).toEqual(['beginEpoch@2', 'serveAsMaster@2', 'registerWithNameServers@2']);
    const entries = epochsOf(1).filter((entry) => entry.epoch > 0);
    expect(entries.map((entry) => entry.epoch)).toEqual([1, 2]);
    expect(entries[1].startLogOffset).toBeGreaterThan(entries[0].startLogOffset);
  }, 30_000);
});
