// rmq user|acl against a real broker that runs with --auth: the admin's identity comes from
// RMQ_ACCESS_KEY and RMQ_SECRET_FILE; without it a call is refused with a hint.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const RMQ_BIN = join(__dirname, '../bin/rmq.js');

function rmq(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RMQ_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [RMQ_BIN, ...args], { timeout: 20_000, env: { ...baseEnv, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('rmq user and acl on a broker with --auth', () => {
  const temp = makeTempDir('cli-access');
  const adminSecretFile = join(temp.path, 'admin.secret');
  let broker: AppProcess;
  let asAdmin: Record<string, string>;

  beforeAll(async () => {
    writeFileSync(adminSecretFile, 'admin-secret-0123\n', { mode: 0o600 });
    broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'data'), '--name-servers', '',
      '--auth', '--auth-admin-secret-file', adminSecretFile]);
    asAdmin = { RMQ_BROKER: broker.endpoints.grpc, RMQ_ACCESS_KEY: 'admin', RMQ_SECRET_FILE: adminSecretFile };
  });

  afterAll(async () => {
    await killAllApps();
    temp.remove();
  });

  it('creates a user with a generated secret, grants and revokes, lists without secrets, deletes', async () => {
    const created = await rmq(['user', 'create', 'alice'], asAdmin);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const secret = /Secret \(shown once\): (\S+)/.exec(created.stdout)?.[1];
    expect(secret).toBeDefined();
    expect((await rmq(['acl', 'grant', 'alice', 'topic:Orders', 'pub,sub'], asAdmin)).stdout.trim()).toBe('User alice now has: topic:Orders=pub,sub.');
    await rmq(['acl', 'grant', 'alice', 'group:billing', 'sub'], asAdmin);
    expect((await rmq(['acl', 'revoke', 'alice', 'topic:Orders'], asAdmin)).stdout.trim()).toBe('User alice now has: group:billing=sub.');
    const listed = await rmq(['user', 'list'], asAdmin);
    expect(listed.stdout.trim()).toBe('alice  group:billing=sub');
    expect(listed.stdout).not.toContain(secret!);

    // alice may read but not administer.
    const asAlice = { RMQ_BROKER: broker.endpoints.grpc, RMQ_ACCESS_KEY: 'alice', RMQ_SECRET_KEY: secret! };
    expect((await rmq(['topic', 'list'], asAlice)).code).toBe(0);
    const refused = await rmq(['topic', 'create', 'Orders'], asAlice);
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.stderr).toContain('user alice may not admin topic Orders [FORBIDDEN]');

    expect((await rmq(['user', 'delete', 'alice'], asAdmin)).stdout.trim()).toBe('User alice deleted.');
    expect((await rmq(['user', 'delete', 'alice'], asAdmin)).stderr).toContain('there is no such user');
  }, 60_000);

  it('refuses an unsigned call with the reason and what to set; a bad grant with its reason', async () => {
    const anonymous = await rmq(['topic', 'list'], { RMQ_BROKER: broker.endpoints.grpc });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr.trim()).toBe("error: cannot list topics: not authenticated: the request is not signed (set the client's sessionCredentials) [UNAUTHORIZED]; set RMQ_ACCESS_KEY and RMQ_SECRET_FILE (or RMQ_SECRET_KEY)");
    await rmq(['user', 'create', 'bob'], asAdmin);
    const bad = await rmq(['acl', 'grant', 'bob', 'queue:x', 'pub'], asAdmin);
    expect(bad.stderr).toContain('a resource is "cluster", "topic:<name>" or "group:<name>"');
    expect((await rmq(['acl', 'grant', 'bob', 'topic:x', 'fly'], asAdmin)).code).toBe(2);
  }, 60_000);
});
