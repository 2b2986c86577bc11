// TLS on every gRPC port: a name server and a broker serving TLS with a self-signed certificate,
// the broker calling the name server over TLS (mutual TLS: the name server wants its certificate)
// and signing registrations with the cluster secret; the official client connects with
// sslEnabled, trusting the certificate through GRPC_DEFAULT_SSL_ROOTS_FILE_PATH, with and
// without credentials; the name server sends a client's recall on to the broker over TLS. A
// plaintext caller gets nothing.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { admin, channelCredentials, createClient, namesrv, signedMetadata, v2 } from '@rmq/contracts';
import { encodeRecallHandle } from '@rmq/messaging';
import { eventually, killAllApps, makeSelfSignedCertificate, makeTempDir, startApp, type AppProcess, type TestCertificate } from '@rmq/testing';

const ROUNDTRIP = join(__dirname, 'fixtures/official-client-roundtrip.cjs');
const ADMIN = { accessKey: 'admin', secret: 'admin-secret-0123' };

function officialRoundtrip(cert: TestCertificate, args: string[]): Promise<{ sent?: string; received?: string[]; error?: string; code?: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [ROUNDTRIP, ...args], { timeout: 40_000, env: { ...process.env, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: cert.certFile } }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

describe('TLS on every gRPC port', () => {
  const temp = makeTempDir('tls');
  let cert: TestCertificate;
  let nameServer: AppProcess;
  let broker: AppProcess;
  let adminClient: ReturnType<typeof createClient<typeof admin.AdminService.method>>;
  const asAdmin = () => ({ deadlineMs: 5_000, metadata: signedMetadata(ADMIN, Date.now()) });

  beforeAll(async () => {
    cert = makeSelfSignedCertificate(temp.path);
    const clusterSecret = join(temp.path, 'cluster.secret');
    const adminSecret = join(temp.path, 'admin.secret');
    writeFileSync(clusterSecret, 'cluster-secret-0123', { mode: 0o600 });
    writeFileSync(adminSecret, ADMIN.secret, { mode: 0o600 });
    const tls = ['--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile];
    nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...tls, '--tls-client-ca-file', cert.certFile, '--cluster-secret-file', clusterSecret,
      '--tls-ca-file', cert.certFile]); // it calls brokers (a recall it sends on) over TLS
    broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'broker'),
      '--name-servers', nameServer.endpoints.grpc, '--register-interval-ms', '500', ...tls, '--tls-ca-file', cert.certFile,
      '--cluster-secret-file', clusterSecret, '--auth', '--auth-admin-secret-file', adminSecret]);
    adminClient = createClient(admin.AdminService, broker.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem }));
    await adminClient.createTopic({ name: 'TlsTopic', queueCount: 2 }, asAdmin());
    await adminClient.putUser({ name: 'alice', secret: 'alice-secret-0123' }, asAdmin());
    await adminClient.setGrant({ user: 'alice', grant: { resource: 'topic:TlsTopic', actions: ['pub', 'sub'] } }, asAdmin());
    await adminClient.setGrant({ user: 'alice', grant: { resource: 'group:tls-group', actions: ['sub'] } }, asAdmin());
  }, 60_000);

  afterAll(async () => {
    adminClient?.close();
    await killAllApps();
    temp.remove();
  });

  it('registers the broker with the name server over mutual TLS, signed with the cluster secret', async () => {
    const client = createClient(namesrv.NameServerService, nameServer.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem, certPem: cert.certPem, keyPem: cert.keyPem }));
    try {
      await eventually(async () => expect((await client.getTopicRoute({ topic: 'TlsTopic' }, { deadlineMs: 5_000 })).brokers).toHaveLength(1), { timeoutMs: 10_000 });
    } finally {
      client.close();
    }
    // Without a client certificate the name server does not talk at all.
    const noCert = createClient(namesrv.NameServerService, nameServer.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem }));
    try {
      const error = await noCert.getClusterInfo({}, { deadlineMs: 3_000 }).catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      noCert.close();
    }
  });

  it('sends a recall on from the name server to the broker over TLS, with the client\'s signature', async () => {
    const client = createClient(v2.MessagingService, nameServer.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem, certPem: cert.certPem, keyPem: cert.keyPem }));
    try {
      await eventually(async () => expect((await client.queryRoute({ topic: { name: 'TlsTopic' } }, { deadlineMs: 5_000 })).status?.code).toBe(v2.Code.OK), { timeoutMs: 10_000 });
      const recallHandle = encodeRecallHandle({ topic: 'TlsTopic', messageId: '01AB', scheduleQueueOffset: 0, brokerName: 'broker-a' });
      const alice = { deadlineMs: 5_000, metadata: signedMetadata({ accessKey: 'alice', secret: 'alice-secret-0123' }, Date.now()) };
      const reply = await client.recallMessage({ topic: { name: 'TlsTopic' }, recallHandle }, alice);
      // The broker answered (over TLS), after checking alice: there is no schedule at that offset.
      expect([reply.status?.code, reply.status?.message]).toEqual([v2.Code.BAD_REQUEST, 'recall handle is not valid: no delay message 01AB of topic TlsTopic is scheduled here']);
    } finally {
      client.close();
    }
  });

  it('serves the official client with sslEnabled and sessionCredentials: it sends and receives', async () => {
    const result = await officialRoundtrip(cert, [broker.endpoints.grpc, 'TlsTopic', 'tls-group', 'alice', 'alice-secret-0123']);
    expect(result.error).toBeUndefined();
    expect(result.received).toEqual([result.sent]);
  }, 60_000);

  it('refuses the official client over TLS with a wrong secret (UNAUTHORIZED)', async () => {
    const result = await officialRoundtrip(cert, [broker.endpoints.grpc, 'TlsTopic', 'tls-group', 'alice', 'wrong-secret-0123']);
    expect(result).toMatchObject({ code: 40100 });
  }, 60_000);

  it('gives a plaintext caller nothing', async () => {
    const plain = createClient(admin.AdminService, broker.endpoints.grpc);
    try {
      const error = await plain.listTopics({}, { deadlineMs: 3_000 }).catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      plain.close();
    }
  });

  it('lets a slave find its master through the name server and follow it, both over TLS', async () => {
    const slave = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'slave'),
      '--name-servers', nameServer.endpoints.grpc, '--register-interval-ms', '500', '--broker-id', '1', '--role', 'slave',
      '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-file', cert.certFile, '--cluster-secret-file', join(temp.path, 'cluster.secret')], { label: 'slave' });
    const status = createClient(admin.AdminService, slave.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem }));
    try {
      await eventually(async () => expect(await status.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'slave', following: true, lagBytes: 0n }), { timeoutMs: 15_000 });
    } finally {
      status.close();
    }
  }, 30_000);
});
