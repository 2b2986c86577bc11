// A slave with the cluster secret copies only from a master that proves it holds the secret:
// pointed at a stranger (a broker without the secret, which answers anyone), it copies nothing,
// logs why at error level, and /health says so at once; pointed at a master with the secret, it
// follows as before.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { admin, createClient, v2 } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const temp = makeTempDir('master-proof');
const REFUSAL_LOG = 'refusing to follow: the master did not prove it holds the cluster secret; nothing is copied from it';

function brokerArgs(dataDir: string, extra: string[]): string[] {
  return ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, dataDir), '--name-servers', '', '--broker-name', 'pair', '--auto-create-topics', ...extra];
}

async function health(app: AppProcess): Promise<{ status: number; problems: string[] }> {
  const response = await fetch(`http://${app.endpoints.http}/health`);
  return { status: response.status, problems: ((await response.json()) as { problems: string[] }).problems };
}

async function sendOne(endpoint: string): Promise<void> {
  const client = createClient(v2.MessagingService, endpoint);
  try {
    const reply = await client.sendMessage({
      messages: [{ topic: { name: 'Proof' }, body: Buffer.from('kept'), systemProperties: { messageId: randomBytes(16).toString('hex'), bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
    }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
  } finally {
    client.close();
  }
}

afterAll(async () => {
  await killAllApps();
  temp.remove();
});

describe('the master proves the cluster secret to its slave', () => {
  const secretFile = join(temp.path, 'cluster.secret');
  const clients: { close(): void }[] = [];
  const statusOf = (app: AppProcess) => {
    const client = createClient(admin.AdminService, app.endpoints.grpc);
    clients.push(client);
    return () => client.getBrokerStatus({}, { deadlineMs: 2_000 });
  };

  beforeAll(() => writeFileSync(secretFile, 'the-cluster-secret-0123456789', { mode: 0o600 }));
  afterAll(() => clients.forEach((client) => client.close()));

  it('copies nothing from a stranger, and says so in its log and on /health', async () => {
    const stranger = await startApp('broker', brokerArgs('stranger', ['--broker-id', '0']), { label: 'stranger' });
    await sendOne(stranger.endpoints.grpc);
    expect(Number((await statusOf(stranger)()).logEndOffset)).toBeGreaterThan(0);
    const slave = await startApp('broker', brokerArgs('fooled', ['--broker-id', '1', '--role', 'slave', '--master', stranger.endpoints.grpc, '--cluster-secret-file', secretFile]), { label: 'fooled' });

    const problems = await eventually(async () => {
      const now = await health(slave);
      expect(now.status).toBe(503);
      return now.problems;
    }, { timeoutMs: 10_000 });
    expect(problems).toEqual([
      `master not proven: the master at ${stranger.endpoints.grpc} did not prove it holds the cluster secret: its answer carries no proof of the cluster secret (it has none, or is not a broker of this cluster); nothing is copied from it`,
    ]);
    // Two refused attempts (the follower retries), and still nothing copied or cut.
    await eventually(() => expect(slave.logs.filter((line) => line.msg === REFUSAL_LOG && line.level === 'error').length).toBeGreaterThanOrEqual(2), { timeoutMs: 10_000 });
    expect(await statusOf(slave)()).toMatchObject({ role: 'slave', following: false, logEndOffset: 0n });
    expect(slave.logs.filter((line) => line.msg === 'following the master')).toEqual([]);
  }, 40_000);

  it('follows a master holding the same secret', async () => {
    const master = await startApp('broker', brokerArgs('master', ['--broker-id', '0', '--cluster-secret-file', secretFile]), { label: 'master' });
    await sendOne(master.endpoints.grpc);
    const slave = await startApp('broker', brokerArgs('slave', ['--broker-id', '1', '--role', 'slave', '--master', master.endpoints.grpc, '--cluster-secret-file', secretFile]), { label: 'slave' });
    const masterEnd = (await statusOf(master)()).logEndOffset;
    await eventually(async () => expect(await statusOf(slave)()).toMatchObject({ following: true, logEndOffset: masterEnd }), { timeoutMs: 10_000 });
    expect(await health(slave)).toEqual({ status: 200, problems: [] });
    expect(slave.logs.filter((line) => line.msg === REFUSAL_LOG)).toEqual([]);
  }, 40_000);
});
