// rmq (the real process) against a controller and a name server that serve mutual TLS only (--tls-client-ca-file):
// with --tls-ca-file, --tls-cert-file and --tls-key-file it reads the replica groups; without a
// certificate, or over plaintext, it is refused with a line that says what to give.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { channelCredentials, controller, createClient } from '@rmq/contracts';
import { eventually, killAllApps, makeSelfSignedCertificate, makeTempDir, startApp, type TestCertificate } from '@rmq/testing';

const RMQ_BIN = join(__dirname, '../bin/rmq.js');
const dirs = { controller: makeTempDir('cli-tls-controller'), files: makeTempDir('cli-tls-files') };

function rmq(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RMQ_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [RMQ_BIN, ...args], { timeout: 20_000, env: { ...base, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }));
  });
}

describe('rmq over mutual TLS', () => {
  let server: TestCertificate;
  let operator: TestCertificate;
  let address: string;
  let nameServer: string;

  beforeAll(async () => {
    server = makeSelfSignedCertificate(dirs.files.path, 'controller');
    operator = makeSelfSignedCertificate(dirs.files.path, 'operator'); // self-signed: the controller trusts it as its own CA
    const app = await startApp('replication', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirs.controller.path, '--broker-timeout-ms', '60000',
      '--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--tls-client-ca-file', operator.certFile,
    ]);
    address = app.endpoints.grpc;
    nameServer = (await startApp('name-server', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--tls-client-ca-file', operator.certFile,
    ])).endpoints.grpc;
    // One broker group to show, heartbeated over mutual TLS.
    const client = createClient(controller.ControllerService, address, {}, channelCredentials({ caPem: server.certPem, certPem: operator.certPem, keyPem: operator.keyPem }));
    try {
      await eventually(() => client.brokerHeartbeat({
        clusterName: 'c1', brokerName: 'broker-a', brokerId: 1n, endpoint: '127.0.0.1:18081', incarnation: 'inc-1', role: controller.ReplicaRole.SLAVE, logEndOffset: 7n,
      }, { deadlineMs: 2_000 }), { timeoutMs: 10_000 });
    } finally {
      client.close();
    }
  }, 30_000);

  afterAll(async () => {
    await killAllApps();
    for (const dir of Object.values(dirs)) dir.remove();
  });

  it('reads the replication status with the operator\'s certificate, from flags or from the environment', async () => {
    const withFlags = await rmq(['replication', 'status', '--controller', address, '--tls-ca-file', server.certFile, '--tls-cert-file', operator.certFile, '--tls-key-file', operator.keyFile]);
    expect(withFlags.code).toBe(0);
    expect(withFlags.stderr).not.toMatch(/error/i); // Node may warn that TLS names no IP address (DEP0123)
    expect(withFlags.stdout).toContain(`controller leader ${address}`);
    expect(withFlags.stdout).toMatch(/^broker-a \(cluster c1\)  epoch 1  master 1 at 127\.0\.0\.1:18081/m);

    const fromEnv = await rmq(['replication', 'status', '--controller', address, '--json'], {
      RMQ_TLS_CA_FILE: server.certFile, RMQ_TLS_CERT_FILE: operator.certFile, RMQ_TLS_KEY_FILE: operator.keyFile,
    });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout).groups[0]).toMatchObject({ brokerName: 'broker-a', masterBrokerId: '1' });
  }, 30_000);

  it('asks a name server that serves mutual TLS only', async () => {
    const run = await rmq(['cluster', 'status', '--name-server', nameServer, '--tls-ca-file', server.certFile, '--tls-cert-file', operator.certFile, '--tls-key-file', operator.keyFile]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/error/i);
    const plaintext = await rmq(['cluster', 'status', '--name-server', nameServer, '--timeout-ms', '3000']);
    expect(plaintext.code).toBe(1);
  }, 30_000);

  it('is refused without a certificate, and says what to give', async () => {
    const noCertificate = await rmq(['replication', 'status', '--controller', address, '--tls-ca-file', server.certFile, '--timeout-ms', '3000']);
    expect(noCertificate.code).toBe(1);
    expect(noCertificate.stderr).toMatch(/^error: cannot read the replication status: the TLS handshake with the controller at .* failed \(certificate required\); it asks for a client certificate: give --tls-cert-file and --tls-key-file$/m);
    expect(noCertificate.stdout).toBe('');
  }, 30_000);

  it('refuses a key file others may read before calling', async () => {
    const looseKey = join(dirs.files.path, 'loose.key');
    copyFileSync(operator.keyFile, looseKey);
    chmodSync(looseKey, 0o644);
    const run = await rmq(['replication', 'status', '--controller', address, '--tls-ca-file', server.certFile, '--tls-cert-file', operator.certFile, '--tls-key-file', looseKey]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --tls-key-file: .*loose\.key/m);
  }, 30_000);
});
