// A replica group of three brokers under a real controller: the master proposes its in-sync set
// (AlterInSyncSet) as slaves catch up or go away, and when the master is SIGKILLed the controller
// elects an in-sync slave, which has every acknowledged message. The killed broker comes back as
// a slave and joins the set again; the logs stay byte-identical.
import { join } from 'node:path';
import { admin, controller, createClient, v2 } from '@rmq/contracts';
import { commitLogSegments, eventually, firstDifference, killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const TOPIC = 'Elected';
const temp = makeTempDir('controller-failover');
const dirOf = (brokerId: number) => join(temp.path, `broker-${brokerId}`);
const clients: { close(): void }[] = [];
const brokers = new Map<number, AppProcess>();

let controllerApp: AppProcess;
let group: ReturnType<typeof controllerClient>;

async function startBroker(brokerId: number): Promise<AppProcess> {
  const app = await startApp('broker', [
    '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirOf(brokerId), '--name-servers', '',
    '--broker-name', 'elected', '--broker-id', String(brokerId), '--controller', controllerApp.endpoints.grpc,
    '--auto-create-topics', '--flush-mode', 'sync',
  ], { label: `broker-${brokerId}` });
  brokers.set(brokerId, app);
  return app;
}

function track<T extends { close(): void }>(made: T): T {
  clients.push(made);
  return made;
}

const controllerClient = (endpoint: string) => track(createClient(controller.ControllerService, endpoint));
const adminClient = (endpoint: string) => track(createClient(admin.AdminService, endpoint));

async function replicaGroup(): Promise<controller.ReplicaGroupStatus> {
  const view = (await group.getReplicaGroup({ brokerName: 'elected' }, { deadlineMs: 2_000 })).group;
  if (!view) throw new Error('the controller has no group yet');
  return view;
}

/** Waits until the controller names a master in `epoch` or later and that broker serves as master. */
async function masterOf(minEpoch: number): Promise<{ brokerId: number; epoch: number }> {
  let found = { brokerId: 0, epoch: 0 };
  await eventually(async () => {
    const view = await replicaGroup();
    if (Number(view.epoch) < minEpoch) throw new Error(`still epoch ${view.epoch}`);
    const app = brokers.get(Number(view.masterBrokerId))!;
    const status = await adminClient(app.endpoints.grpc).getBrokerStatus({}, { deadlineMs: 2_000 });
    expect(status).toMatchObject({ role: 'master', epoch: view.epoch });
    found = { brokerId: Number(view.masterBrokerId), epoch: Number(view.epoch) };
  }, { timeoutMs: 15_000 });
  return found;
}

async function expectInSync(ids: number[]): Promise<void> {
  await eventually(async () => expect((await replicaGroup()).inSyncBrokerIds.map(Number)).toEqual(ids), { timeoutMs: 15_000 });
}

async function sendBatch(endpoint: string, from: number, count: number): Promise<void> {
  const messaging = track(createClient(v2.MessagingService, endpoint));
  const replies = await Promise.all(Array.from({ length: count }, (_, i) => messaging.sendMessage({
    messages: [{ topic: { name: TOPIC }, body: Buffer.from(`message ${from + i}`), systemProperties: { messageId: `m-${from + i}`, bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
  }, { deadlineMs: 10_000 })));
  for (const reply of replies) expect(reply.status?.code).toBe(v2.Code.OK);
}

async function readable(endpoint: string): Promise<number> {
  const topic = await adminClient(endpoint).getTopic({ name: TOPIC }, { deadlineMs: 3_000 });
  return topic.queues.reduce((sum, queue) => sum + Number(queue.maxOffset - queue.minOffset), 0);
}

beforeAll(async () => {
  controllerApp = await startApp('replication', [
    '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'controller'),
    '--broker-timeout-ms', '1000', '--heartbeat-interval-ms', '200',
  ]);
  group = controllerClient(controllerApp.endpoints.grpc);
  await eventually(async () => expect((await group.getControllerStatus({})).inGracePeriod).toBe(false), { timeoutMs: 10_000 });
}, 30_000);

afterAll(async () => {
  for (const made of clients) made.close();
  await killAllApps();
  temp.remove();
});

describe('controller-driven failover of a replica group', () => {
  it('grows the controller\'s in-sync set to every caught-up slave, elects one of them when the master is killed, and loses nothing acknowledged', async () => {
    await startBroker(1);
    expect(await masterOf(1)).toEqual({ brokerId: 1, epoch: 1 });
    await startBroker(2);
    await startBroker(3);
    await expectInSync([1, 2, 3]);
    await sendBatch(brokers.get(1)!.endpoints.grpc, 0, 200);

    const killedAt = Date.now();
    await brokers.get(1)!.kill('SIGKILL');
    const elected = await masterOf(2);
    const failoverMs = Date.now() - killedAt;
    expect([2, 3]).toContain(elected.brokerId);
    expect(await readable(brokers.get(elected.brokerId)!.endpoints.grpc)).toBe(200);
    await sendBatch(brokers.get(elected.brokerId)!.endpoints.grpc, 200, 100);

    // The old master returns as a slave of the new epoch and is let back into the set once caught up.
    await startBroker(1);
    await expectInSync([1, 2, 3]);
    expect(await adminClient(brokers.get(1)!.endpoints.grpc).getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'slave', epoch: BigInt(elected.epoch) });
    const masterLog = commitLogSegments(dirOf(elected.brokerId));
    for (const id of [1, 2, 3].filter((id) => id !== elected.brokerId)) expect(firstDifference(masterLog, commitLogSegments(dirOf(id)))).toBeUndefined();
    console.log(`controller failover: kill -> new master serving in ${failoverMs} ms (broker timeout 1000 ms)`);
  }, 90_000);

  it('drops a killed slave from the controller\'s set at once, so sends go on, and never elects it', async () => {
    const { brokerId: masterId, epoch } = await masterOf(2);
    const slaveId = [1, 2, 3].find((id) => id !== masterId)!;
    await brokers.get(slaveId)!.kill('SIGKILL');
    await expectInSync([1, 2, 3].filter((id) => id !== slaveId));
    await sendBatch(brokers.get(masterId)!.endpoints.grpc, 300, 50);
    const view = await replicaGroup();
    expect(Number(view.epoch)).toBe(epoch);
    expect(await readable(brokers.get(masterId)!.endpoints.grpc)).toBe(350);
  }, 60_000);
});
