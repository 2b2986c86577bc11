// A name server with a cluster secret: a fake broker (no signature, or signed with another secret)
// cannot register or unregister and never enters a route; a real broker with the secret does.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_ACCESS_KEY } from '@rmq/base';
import { admin, createClient, errorCodeOf, namesrv, signedMetadata } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, registrationInit, startApp, topicInit, type AppProcess } from '@rmq/testing';

const SECRET = 'the-cluster-secret-0123';

describe('name server registration with a cluster secret', () => {
  const temp = makeTempDir('cluster-secret');
  const secretFile = join(temp.path, 'cluster.secret');
  let nameServer: AppProcess;
  let client: ReturnType<typeof createClient<typeof namesrv.NameServerService.method>>;

  beforeAll(async () => {
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--cluster-secret-file', secretFile]);
    client = createClient(namesrv.NameServerService, nameServer.endpoints.grpc);
  });

  afterAll(async () => {
    client?.close();
    await killAllApps();
    temp.remove();
  });

  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: grpc.ServiceError) => ({ code: error.code, rmqCode: errorCodeOf(error), details: error.details }));

  it('refuses a fake broker that does not sign, or signs with another secret, and keeps it out of routes', async () => {
    const fake = registrationInit('fake-broker', { endpoint: '10.0.0.66:10911', topics: [topicInit('Orders')] });
    expect(await refusal(client.registerBroker(fake, { deadlineMs: 5_000 }))).toEqual({
      code: grpc.status.UNAUTHENTICATED, rmqCode: 'UNAUTHORIZED', details: expect.stringContaining('RegisterBroker needs the cluster secret'),
    });
    const forged = signedMetadata({ accessKey: CLUSTER_ACCESS_KEY, secret: 'a-guessed-secret' }, Date.now());
    expect(await refusal(client.registerBroker(fake, { deadlineMs: 5_000, metadata: forged }))).toMatchObject({ rmqCode: 'UNAUTHORIZED' });
    expect((await client.getTopicRoute({ topic: 'Orders' }, { deadlineMs: 5_000 })).brokers).toEqual([]);
    expect(nameServer.logs.filter((line) => line.msg === 'access refused' && line.brokerName === 'fake-broker' && line.endpoint === '10.0.0.66:10911')).toHaveLength(2);
  });

  it('lets a broker with the secret register, and refuses an unsigned unregister of it', async () => {
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'broker'),
      '--name-servers', nameServer.endpoints.grpc, '--cluster-secret-file', secretFile, '--auto-create-topics', '--register-interval-ms', '500']);
    const brokerAdmin = createClient(admin.AdminService, broker.endpoints.grpc);
    try {
      await brokerAdmin.createTopic({ name: 'Signed', queueCount: 2 }, { deadlineMs: 5_000 });
    } finally {
      brokerAdmin.close();
    }
    await eventually(async () => expect((await client.getTopicRoute({ topic: 'Signed' }, { deadlineMs: 5_000 })).brokers).toHaveLength(1), { timeoutMs: 10_000 });
    const unsigned = await refusal(client.unregisterBroker({ broker: { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0n } }, { deadlineMs: 5_000 }));
    expect(unsigned).toMatchObject({ rmqCode: 'UNAUTHORIZED', details: expect.stringContaining('UnregisterBroker needs the cluster secret') });
    expect((await client.getTopicRoute({ topic: 'Signed' }, { deadlineMs: 5_000 })).brokers).toHaveLength(1);
    await broker.kill('SIGTERM'); // unregisters, signed
    await eventually(async () => expect((await client.getTopicRoute({ topic: 'Signed' }, { deadlineMs: 5_000 })).brokers).toHaveLength(0), { timeoutMs: 5_000 });
  }, 30_000);

  it('refuses to start with a secret file others may read', async () => {
    const open = join(temp.path, 'open.secret');
    writeFileSync(open, SECRET, { mode: 0o644 });
    await expect(startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--cluster-secret-file', open])).rejects.toThrow(/may be read by others/);
  });
});
