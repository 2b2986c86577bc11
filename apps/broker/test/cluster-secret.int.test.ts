// Between apps, over TLS and signed with the cluster secret: a controller (mutual TLS) and two
// brokers, each with --cluster-secret-file and TLS. The brokers heartbeat the controller and the slave follows
// the master's log; a stranger (right TLS roots, no secret or a wrong one) can neither follow the
// master's log, nor read its epochs, nor heartbeat the controller (a fake broker could be elected
// master), and each refusal leaves an audit line. The controller's views stay open.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_ACCESS_KEY } from '@rmq/base';
import { admin, channelCredentials, controller, create, createClient, replication, signedMetadata, v2 } from '@rmq/contracts';
import { commitLogSegments, eventually, firstDifference, killAllApps, makeSelfSignedCertificate, makeTempDir, startApp, type AppProcess, type TestCertificate } from '@rmq/testing';

const SECRET = 'cluster-secret-0123456789';
const dirs = { controller: makeTempDir('secret-controller'), broker1: makeTempDir('secret-broker-1'), broker2: makeTempDir('secret-broker-2'), files: makeTempDir('secret-files') };
const clients: { close(): void }[] = [];

describe('calls between apps need the cluster secret', () => {
  let cert: TestCertificate;
  let tlsArgs: string[];
  let controllerApp: AppProcess;
  let master: AppProcess;
  let slave: AppProcess;
  const tlsChannel = () => channelCredentials({ caPem: cert.certPem });
  const signed = (secret: string) => signedMetadata({ accessKey: CLUSTER_ACCESS_KEY, secret }, Date.now());

  function startBroker(brokerId: 1 | 2): Promise<AppProcess> {
    return startApp('broker', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirs[`broker${brokerId}`].path,
      '--name-servers', '', '--broker-name', 'secured', '--broker-id', String(brokerId),
      '--controller', controllerApp.endpoints.grpc, '--auto-create-topics', ...tlsArgs,
    ], { label: `broker-${brokerId}` });
  }

  function track<T extends { close(): void }>(client: T): T {
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    cert = makeSelfSignedCertificate(dirs.files.path);
    const secretFile = join(dirs.files.path, 'cluster.secret');
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    tlsArgs = ['--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-file', cert.certFile, '--cluster-secret-file', secretFile];
    controllerApp = await startApp('replication', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dirs.controller.path,
      '--broker-timeout-ms', '1000', '--heartbeat-interval-ms', '200', ...tlsArgs, '--tls-client-ca-file', cert.certFile, // mutual TLS
    ]);
    master = await startBroker(1);
    const masterAdmin = track(createClient(admin.AdminService, master.endpoints.grpc, {}, tlsChannel()));
    await eventually(async () => expect(await masterAdmin.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'master', epoch: 1n }), { timeoutMs: 15_000 });
    slave = await startBroker(2);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await killAllApps();
    for (const dir of Object.values(dirs)) dir.remove();
  });

  it('lets brokers holding the secret heartbeat over TLS, the slave forward to its master and follow it, byte for byte', async () => {
    const messaging = track(createClient(v2.MessagingService, master.endpoints.grpc, {}, tlsChannel()));
    const reply = await messaging.sendMessage({
      messages: [{ topic: { name: 'Secured' }, body: Buffer.from('kept'), systemProperties: { messageId: 'secured-1', bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
    }, { deadlineMs: 5_000 });
    expect(reply.status?.code).toBe(v2.Code.OK);
    // A send to the slave is forwarded to the master, over TLS.
    const toSlave = track(createClient(v2.MessagingService, slave.endpoints.grpc, {}, tlsChannel()));
    const forwarded = await toSlave.sendMessage({
      messages: [{ topic: { name: 'Secured' }, body: Buffer.from('via the slave'), systemProperties: { messageId: 'secured-2', bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }],
    }, { deadlineMs: 5_000 });
    expect(forwarded.status?.code).toBe(v2.Code.OK);
    const slaveAdmin = track(createClient(admin.AdminService, slave.endpoints.grpc, {}, tlsChannel()));
    await eventually(async () => {
      expect(await slaveAdmin.getBrokerStatus({}, { deadlineMs: 2_000 })).toMatchObject({ role: 'slave', following: true, lagBytes: 0n });
    }, { timeoutMs: 15_000 });
    await eventually(async () => expect(firstDifference(commitLogSegments(dirs.broker1.path), commitLogSegments(dirs.broker2.path))).toBeUndefined(), { timeoutMs: 10_000 });
    expect([...master.logs, ...slave.logs].filter((line) => line.msg === 'access refused')).toEqual([]);
  }, 30_000);

  it('refuses a stranger without the secret: no epochs, no Follow stream, each refusal audited', async () => {
    const stranger = track(createClient(replication.ReplicationService, master.endpoints.grpc, {}, tlsChannel()));
    for (const metadata of [new grpc.Metadata(), signed('not-the-secret')]) {
      const error = await stranger.describeLog({ brokerName: 'secured' }, { deadlineMs: 3_000, metadata }).catch((e: grpc.ServiceError) => e);
      expect(error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('DescribeLog needs the cluster secret') });
    }
    // Follow from offset 0, as a slave would: the stream fails before a byte of the log is sent.
    const stream = stranger.follow({ metadata: signed('not-the-secret') });
    const received: unknown[] = [];
    stream.on('data', (batch) => received.push(batch));
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.write(create(replication.FollowRequestSchema, { kind: { case: 'subscribe', value: { brokerName: 'secured', replicaId: '9', fromLogOffset: 0n, segmentSizeBytes: 0n, endpoint: 'stranger:1' } } }));
    const error = await ended;
    expect(error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('Follow needs the cluster secret: the signature does not match') });
    expect(received).toEqual([]);
    await eventually(async () => {
      const refusals = master.logs.filter((line) => line.msg === 'access refused' && line.component === 'audit');
      expect(refusals.map((line) => [line.method, line.problem])).toEqual([['DescribeLog', 'missing'], ['DescribeLog', 'bad-signature'], ['Follow', 'bad-signature']]);
    });
    // The right secret answers (the same call the slave makes).
    expect((await stranger.describeLog({ brokerName: 'secured' }, { deadlineMs: 3_000, metadata: signed(SECRET) })).epoch).toBe(1n);
  }, 30_000);

  it('refuses a fake broker\'s heartbeat on the controller, even with a client certificate; views stay open', async () => {
    // The controller wants a client certificate (the brokers present theirs); without one, nothing.
    const noCertificate = track(createClient(controller.ControllerService, controllerApp.endpoints.grpc, {}, tlsChannel()));
    expect(await noCertificate.listReplicaGroups({}, { deadlineMs: 3_000 }).catch((e: grpc.ServiceError) => e.code)).toBe(grpc.status.UNAVAILABLE);
    const client = track(createClient(controller.ControllerService, controllerApp.endpoints.grpc, {}, channelCredentials({ caPem: cert.certPem, certPem: cert.certPem, keyPem: cert.keyPem })));
    const heartbeat = (metadata: grpc.Metadata) => client.brokerHeartbeat({
      clusterName: 'DefaultCluster', brokerName: 'secured', brokerId: 7n, endpoint: '127.0.0.1:1', incarnation: 'fake', role: controller.ReplicaRole.SLAVE,
      epoch: 99n, epochStartLogOffset: 0n, logEndOffset: 1n << 40n, confirmedLogOffset: 1n << 40n, slaves: [],
    }, { deadlineMs: 3_000, metadata });
    for (const metadata of [new grpc.Metadata(), signed('not-the-secret')]) {
      const error = await heartbeat(metadata).catch((e: grpc.ServiceError) => e);
      expect(error).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details: expect.stringContaining('BrokerHeartbeat needs the cluster secret') });
    }
    const changed = await client.alterInSyncSet({ clusterName: 'DefaultCluster', brokerName: 'secured', masterBrokerId: 7n, epoch: 1n }, { deadlineMs: 3_000 }).catch((e: grpc.ServiceError) => e);
    expect(changed).toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const view = (await client.getReplicaGroup({ brokerName: 'secured' }, { deadlineMs: 3_000 })).group!;
    expect(view.brokers.map((broker) => broker.brokerId)).toEqual([1n, 2n]); // the fake broker 7 never joined
    expect(view.masterBrokerId).toBe(1n);
    const refusals = controllerApp.logs.filter((line) => line.msg === 'access refused' && line.component === 'audit');
    expect(refusals.map((line) => line.method)).toEqual(['BrokerHeartbeat', 'BrokerHeartbeat', 'AlterInSyncSet']);
  }, 30_000);
});
