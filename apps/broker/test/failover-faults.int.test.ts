// An old master that the group has moved on from must acknowledge nothing: a hung master
// (SIGSTOP, SIGCONT once a new master leads) and a master cut off from the controller and its
// slaves (fault proxies on everything it exchanges with them: blackholed, or connections reset)
// while a client still reaches it directly. Official producers and a SimpleConsumer use the name
// server as access point throughout. In each case: a send the old master answers OK is one the
// group keeps (consumed at the end), none is answered OK by it on its own after the new epoch
// began, no epoch has two masters, the old master comes back as a slave and every replica's log
// is byte-identical.
import { v2, createClient } from '@rmq/contracts';
import { directSendRequest, eventually, killAllApps, startControlledGroup, type ControlledGroup, type FaultMode } from '@rmq/testing';
import { missingFrom, startProducers, startSimpleConsuming, type Consumption, type Workload } from './failover-workload';

const TOPIC = 'FaultTopic';
const BROKER_ARGS = ['--flush-mode', 'sync', '--invisible-ms-min', '1000', '--in-sync-lag-ms', '1000'];
const STEP_TIMEOUT_MS = 20_000;

interface DirectReply {
  body: string;
  issuedAtMs: number;
  answeredAtMs: number;
  code: v2.Code | 'error';
  detail: string;
}

/** A client that sends straight to one broker's own port, past routes and proxies, and records every answer. */
function directSender(endpoint: string) {
  const client = createClient(v2.MessagingService, endpoint);
  const replies: DirectReply[] = [];
  let count = 0;
  return {
    replies,
    async send(deadlineMs: number): Promise<DirectReply> {
      const body = `direct-${count++}`;
      const issuedAtMs = Date.now();
      let reply: DirectReply;
      try {
        const answer = await client.sendMessage(directSendRequest(TOPIC, `direct-id-${body}`, body), { deadlineMs });
        const code = answer.entries[0]?.status?.code ?? answer.status?.code ?? v2.Code.CODE_UNSPECIFIED;
        reply = { body, issuedAtMs, answeredAtMs: Date.now(), code, detail: answer.entries[0]?.status?.message ?? answer.status?.message ?? '' };
      } catch (error) {
        reply = { body, issuedAtMs, answeredAtMs: Date.now(), code: 'error', detail: String(error) };
      }
      replies.push(reply);
      return reply;
    },
    close: () => client.close(),
  };
}

const ok = (reply: DirectReply) => reply.code === v2.Code.OK;
const summary = (replies: DirectReply[]) => replies.map((r) => `${r.body}: ${r.code === 'error' ? 'error' : v2.Code[r.code]} after ${r.answeredAtMs - r.issuedAtMs} ms${r.code === v2.Code.OK ? '' : ` (${r.detail.slice(0, 80)})`}`);

interface Scenario {
  group: ControlledGroup;
  producers: Workload;
  consumer: Consumption;
}

/** Three brokers behind fault proxies (a test client still reaches each directly), a producer and a consumer through the name server. */
async function startScenario(): Promise<Scenario> {
  const group = await startControlledGroup({ brokers: 3, brokerArgs: BROKER_ARGS, proxied: true });
  await group.waitForMaster({ timeoutMs: STEP_TIMEOUT_MS });
  await group.createTopic(TOPIC, { queueCount: 2 });
  await group.waitInSync([0, 1, 2]);
  const consumer = await startSimpleConsuming(group.accessPoint, 'fault-readers', TOPIC, 3_000);
  const producers = await startProducers(group.accessPoint, TOPIC, { producers: 1, sendsMax: 5_000, paceMs: 20 });
  return { group, producers, consumer };
}

/**
 * After the fault, with producers and consumer still running: the old master is a slave of the
 * new epoch and back in sync, everything acknowledged so far is consumed, one master per epoch,
 * and the replicas' logs are byte-identical up to the least log end (bytes below a replica's end
 * no longer change, so they compare while sends go on).
 */
async function checkAftermath(scenario: Scenario, oldMaster: number, newEpoch: number, directOks: DirectReply[]): Promise<void> {
  const { group, producers, consumer } = scenario;
  await eventually(async () => {
    const status = await group.brokerStatus(oldMaster);
    expect([status.role, Number(status.epoch) >= newEpoch]).toEqual(['slave', true]);
  }, { timeoutMs: STEP_TIMEOUT_MS });
  await group.waitInSync([0, 1, 2], { timeoutMs: STEP_TIMEOUT_MS });
  const acked = [...producers.sends.filter((send) => send.ackedAtMs !== undefined), ...directOks.map((reply) => ({ body: reply.body, issuedAtMs: reply.issuedAtMs, ackedAtMs: reply.answeredAtMs }))];
  await eventually(() => {
    const missing = missingFrom(acked, consumer);
    expect({ missing: missing.length, first: missing.slice(0, 5) }).toEqual({ missing: 0, first: [] });
  }, { timeoutMs: 30_000, intervalMs: 200 });

  const servedBy = new Map<number, Set<number>>();
  for (const served of group.mastersServed()) servedBy.set(served.epoch, (servedBy.get(served.epoch) ?? new Set()).add(served.brokerId));
  expect([...servedBy].filter(([, brokers]) => brokers.size > 1)).toEqual([]);
  const elections = group.elections().map((e) => e.epoch);
  expect(elections).toEqual([...new Set(elections)].sort((a, b) => a - b));

  const statuses = await Promise.all([0, 1, 2].map((id) => group.brokerStatus(id)));
  const common = Math.min(...statuses.map((status) => Number(status.logEndOffset)));
  const logs = group.commitLogs(common);
  expect(logs.map((log) => log.length === common && log.equals(logs[0]))).toEqual([true, true, true]);
  const epochFiles = group.epochFiles();
  expect([epochFiles[1], epochFiles[2]]).toEqual([epochFiles[0], epochFiles[0]]);
}

// One group for every case, each after the previous healed: a case breaks whichever broker leads then.
describe('an old master the group moved on from', () => {
  let scenario: Scenario;

  beforeAll(async () => {
    scenario = await startScenario();
  }, 90_000);

  afterAll(async () => {
    await scenario?.producers.stop().catch(() => undefined);
    await scenario?.consumer.stop().catch(() => undefined);
    await scenario?.group.stop();
    await killAllApps();
  }, 60_000);

  it('hung (SIGSTOP, SIGCONT after a new master leads) acknowledges nothing on its own once resumed; the group keeps everything acknowledged', async () => {
    const { group, producers } = scenario;
    const before = await group.waitForMaster();
    const direct = directSender(group.directEndpoints[before.brokerId]);
    try {
      expect(ok(await direct.send(5_000))).toBe(true); // it takes sends while healthy
      const stoppedAtMs = Date.now();
      process.kill(group.brokers[before.brokerId]!.pid, 'SIGSTOP');
      // Sends that wait in the hung master's socket until it resumes.
      const queued = Array.from({ length: 5 }, () => direct.send(STEP_TIMEOUT_MS));
      const after = await group.waitForMaster({ afterEpoch: before.epoch, timeoutMs: STEP_TIMEOUT_MS });
      const electedAtMs = Date.now();
      expect(after.brokerId).not.toBe(before.brokerId);
      await eventually(() => expect(producers.sends.some((s) => s.issuedAtMs > stoppedAtMs && s.ackedAtMs !== undefined)).toBe(true), { timeoutMs: STEP_TIMEOUT_MS });
      process.kill(group.brokers[before.brokerId]!.pid, 'SIGCONT');
      await Promise.all(queued);
      for (let i = 0; i < 5; i++) await direct.send(5_000);
      const answered = direct.replies.slice(1);
      process.stdout.write(`hung master ${before.brokerId} (epoch ${before.epoch}; broker ${after.brokerId} master of epoch ${after.epoch} ${electedAtMs - stoppedAtMs} ms after SIGSTOP):\n  ${summary(answered).join('\n  ')}\n`);
      await checkAftermath(scenario, before.brokerId, after.epoch, direct.replies.filter(ok));
    } finally {
      direct.close();
    }
  }, 120_000);

  it.each<FaultMode>(['blackhole', 'drop'])('cut off from the controller and its slaves (%s) acknowledges nothing on its own after the new epoch begins; heals into a slave; the group keeps everything acknowledged', async (mode) => {
    const { group, producers } = scenario;
    const before = await group.waitForMaster();
    const direct = directSender(group.directEndpoints[before.brokerId]);
    try {
      expect(ok(await direct.send(5_000))).toBe(true);
      const cutAtMs = Date.now();
      group.proxies[before.brokerId].inbound.setMode(mode);
      group.proxies[before.brokerId].toController.setMode(mode);
      // A client on the old master's side of the cut sends to it all along.
      let cut = true;
      const sending = (async () => {
        while (cut) await direct.send(3_000);
      })();
      const after = await group.waitForMaster({ afterEpoch: before.epoch, timeoutMs: STEP_TIMEOUT_MS });
      const electedAtMs = Date.now();
      expect(after.brokerId).not.toBe(before.brokerId);
      await eventually(() => expect(producers.sends.some((s) => s.issuedAtMs > cutAtMs && s.ackedAtMs !== undefined)).toBe(true), { timeoutMs: STEP_TIMEOUT_MS });
      // The old master had time to give up on its slaves (--in-sync-lag-ms 1000) and answer sends issued in the new epoch.
      await eventually(() => expect(direct.replies.filter((r) => r.issuedAtMs > electedAtMs).length).toBeGreaterThanOrEqual(2), { timeoutMs: STEP_TIMEOUT_MS });
      cut = false;
      await sending;
      const duringCut = direct.replies.slice(1);
      process.stdout.write(`master ${before.brokerId} cut off (${mode}; broker ${after.brokerId} master of epoch ${after.epoch} ${electedAtMs - cutAtMs} ms after the cut):\n  ${summary(duringCut).join('\n  ')}\n`);
      group.proxies[before.brokerId].inbound.setMode('pass');
      group.proxies[before.brokerId].toController.setMode('pass');
      await checkAftermath(scenario, before.brokerId, after.epoch, direct.replies.filter(ok));
      // Cut off from the new master too, it could not have forwarded: an OK during the cut was its own.
      expect(duringCut.filter(ok).map((r) => r.body)).toEqual([]);
    } finally {
      direct.close();
    }
  }, 120_000);
});
