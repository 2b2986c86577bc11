// Authentication and authorization with the official rocketmq-client-nodejs and its
// sessionCredentials, unchanged: right credentials send and receive; a wrong secret, an unknown
// key, a stale timestamp and a topic without permission each get their status, nothing is stored,
// and the broker writes one audit line per refusal. Admin calls need an admin identity.
import * as grpc from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { signedHeaders, type Credentials } from '@rmq/base';
import { createClient, errorCodeOf, v2 } from '@rmq/contracts';
import { encodeRecallHandle } from '@rmq/messaging';
import { killAllApps, makeTempDir, quietClientLogger } from '@rmq/testing';
import { startLocalCluster, type LocalCluster } from './local-cluster';

// The official client reads its date-time through this module's export; a stale clock is simulated by replacing it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clientUtil = require('rocketmq-client-nodejs/dist/util') as { getRequestDateTime: () => string };

const ADMIN: Credentials = { accessKey: 'admin', secret: 'admin-secret-0123' };
const ALICE: Credentials = { accessKey: 'alice', secret: 'alice-secret-0123' };
const UNAUTHORIZED = 40100;
const FORBIDDEN = 40300;

function signed(credentials: Credentials): { metadata: grpc.Metadata; deadlineMs: number } {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(signedHeaders(credentials, Date.now()))) metadata.set(name, value);
  return { metadata, deadlineMs: 5_000 };
}

function producerAs(endpoint: string, credentials: Credentials): Producer {
  return new Producer({ endpoints: endpoint, namespace: '', logger: quietClientLogger, sessionCredentials: { accessKey: credentials.accessKey, accessSecret: credentials.secret } });
}

describe('authentication and authorization as RocketMQ 5 clients sign them', () => {
  let cluster: LocalCluster;
  const temp = makeTempDir('auth');

  const storedCount = async (topic: string) => {
    const reply = await cluster.admin.getTopic({ name: topic }, signed(ADMIN));
    return reply.queues.reduce((sum, queue) => sum + Number(queue.maxOffset - queue.minOffset), 0);
  };
  const refusals = () => cluster.broker.logs.filter((entry) => entry.msg === 'access refused');

  beforeAll(async () => {
    const secretFile = join(temp.path, 'admin.secret');
    writeFileSync(secretFile, ADMIN.secret + '\n', { mode: 0o600 });
    cluster = await startLocalCluster(['--auth', '--auth-admin-secret-file', secretFile]);
    for (const name of ['AuthTopic', 'OtherTopic']) await cluster.admin.createTopic({ name, queueCount: 2 }, signed(ADMIN));
    await cluster.admin.putUser({ name: ALICE.accessKey, secret: ALICE.secret }, signed(ADMIN));
    await cluster.admin.setGrant({ user: 'alice', grant: { resource: 'topic:AuthTopic', actions: ['pub', 'sub'] } }, signed(ADMIN));
    await cluster.admin.setGrant({ user: 'alice', grant: { resource: 'group:auth-group', actions: ['sub'] } }, signed(ADMIN));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    temp.remove();
    await killAllApps();
  });

  it('sends and receives with the right credentials', async () => {
    const producer = producerAs(cluster.endpoint, ALICE);
    await producer.startup();
    const consumer = new SimpleConsumer({
      endpoints: cluster.endpoint, namespace: '', consumerGroup: 'auth-group', subscriptions: new Map([['AuthTopic', '*']]), awaitDuration: 2_000,
      logger: quietClientLogger, sessionCredentials: { accessKey: ALICE.accessKey, accessSecret: ALICE.secret },
    });
    try {
      const receipt = await producer.send({ topic: 'AuthTopic', body: Buffer.from('signed') });
      await consumer.startup();
      const deadline = Date.now() + 20_000;
      let received: string[] = [];
      while (received.length === 0 && Date.now() < deadline) {
        const batch = await consumer.receive(16, 15_000);
        for (const message of batch) await consumer.ack(message);
        received = batch.map((message) => message.messageId);
      }
      expect(received).toEqual([receipt.messageId]);
      expect(await storedCount('AuthTopic')).toBe(1);
    } finally {
      await consumer.shutdown().catch(() => undefined);
      await producer.shutdown().catch(() => undefined);
    }
  }, 60_000);

  const refusedSend = async (credentials: Credentials, topic: string) => {
    const producer = producerAs(cluster.endpoint, credentials);
    await producer.startup();
    try {
      return await producer.send({ topic, body: Buffer.from('must not be stored') }).then(
        () => ({ code: 0, message: 'sent' }),
        (error: { code?: number; message: string }) => ({ code: error.code, message: error.message }),
      );
    } finally {
      await producer.shutdown().catch(() => undefined);
    }
  };

  it('refuses a wrong secret and an unknown access key with UNAUTHORIZED, stores nothing and audits each', async () => {
    const before = refusals().length;
    const wrongSecret = await refusedSend({ ...ALICE, secret: 'not-the-secret' }, 'AuthTopic');
    expect(wrongSecret).toMatchObject({ code: UNAUTHORIZED, message: expect.stringContaining('the signature does not match') });
    const unknownKey = await refusedSend({ accessKey: 'mallory', secret: 'whatever-secret' }, 'AuthTopic');
    expect(unknownKey).toMatchObject({ code: UNAUTHORIZED, message: expect.stringContaining('unknown access key') });
    expect(await storedCount('AuthTopic')).toBe(1);
    const lines = refusals().slice(before);
    expect(lines.some((line) => line.problem === 'bad-signature' && line.accessKey === 'alice' && line.level === 'warn')).toBe(true);
    expect(lines.some((line) => line.problem === 'unknown-key' && line.accessKey === 'mallory')).toBe(true);
  }, 60_000);

  it('refuses a request signed with a stale timestamp (clock skew beyond the bound)', async () => {
    const original = clientUtil.getRequestDateTime;
    clientUtil.getRequestDateTime = () => '20200101T000000Z';
    try {
      expect(await refusedSend(ALICE, 'AuthTopic')).toMatchObject({ code: UNAUTHORIZED, message: expect.stringContaining('too far from the server') });
    } finally {
      clientUtil.getRequestDateTime = original;
    }
    expect(await storedCount('AuthTopic')).toBe(1);
    expect(refusals().some((line) => line.problem === 'clock-skew')).toBe(true);
  }, 60_000);

  it('refuses a topic the user has no grant for with FORBIDDEN and stores nothing', async () => {
    const forbidden = await refusedSend(ALICE, 'OtherTopic');
    expect(forbidden).toMatchObject({ code: FORBIDDEN, message: expect.stringContaining('user alice may not pub or sub topic OtherTopic') });
    expect(await storedCount('OtherTopic')).toBe(0);
    expect(refusals().some((line) => line.code === 'FORBIDDEN' && line.accessKey === 'alice' && line.method === 'QueryRoute')).toBe(true);
    // Straight to SendMessage, past the route: refused in-band as well.
    const client = createClient(v2.MessagingService, cluster.endpoint);
    try {
      const message = { topic: { name: 'OtherTopic' }, body: Buffer.from('x'), systemProperties: { messageId: '01AB', messageType: v2.MessageType.NORMAL, bodyEncoding: v2.Encoding.IDENTITY } };
      const reply = await client.sendMessage({ messages: [message] }, signed(ALICE));
      expect(reply.status).toMatchObject({ code: FORBIDDEN, message: 'user alice may not pub topic OtherTopic' });
    } finally {
      client.close();
    }
    expect(await storedCount('OtherTopic')).toBe(0);
  }, 60_000);

  it('recalls through the name server with the client\'s own signature: the broker checks who asks', async () => {
    const handle = (topic: string) => encodeRecallHandle({ topic, messageId: '01AB', scheduleQueueOffset: 0, brokerName: 'broker-a' });
    const recallAs = async (credentials: Credentials, topic: string) => {
      const producer = producerAs(cluster.nameServer.endpoints.grpc, credentials);
      await producer.startup();
      try {
        return await producer.recallMessage(topic, handle(topic)).then(() => 'recalled', (error: Error) => error.message);
      } finally {
        await producer.shutdown().catch(() => undefined);
      }
    };
    // Alice may publish to AuthTopic: the broker looks for the schedule (there is none at that offset).
    expect(await recallAs(ALICE, 'AuthTopic')).toBe(`Failed to recall message: recall handle is not valid: no delay message 01AB of topic AuthTopic is scheduled here (code: ${v2.Code.BAD_REQUEST})`);
    expect(await recallAs(ALICE, 'OtherTopic')).toBe(`Failed to recall message: user alice may not pub topic OtherTopic (code: ${FORBIDDEN})`);
    expect(await recallAs({ ...ALICE, secret: 'not-the-secret' }, 'AuthTopic')).toMatch(new RegExp(`the signature does not match.*\\(code: ${UNAUTHORIZED}\\)`));
  }, 60_000);

  it('refuses SetBrokerPermission without credentials and from a user who is not an admin', async () => {
    const anonymous = await cluster.admin.setBrokerPermission({ perm: 4 }, { deadlineMs: 5_000 }).catch((error: grpc.ServiceError) => error);
    expect((anonymous as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(errorCodeOf(anonymous)).toBe('UNAUTHORIZED');
    const notAdmin = await cluster.admin.setBrokerPermission({ perm: 4 }, signed(ALICE)).catch((error: grpc.ServiceError) => error);
    expect((notAdmin as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((notAdmin as grpc.ServiceError).details).toBe('user alice may not admin the cluster');
    const status = await cluster.admin.getBrokerStatus({}, signed(ALICE));
    expect(status.brokerPerm).toBe(6);
    expect((await cluster.admin.setBrokerPermission({ perm: 6 }, signed(ADMIN))).perm).toBe(6);
  }, 30_000);

  it('lists users without their secrets', async () => {
    const reply = await cluster.admin.listUsers({}, signed(ADMIN));
    expect(reply.users.map((user) => user.name)).toEqual(['alice']);
    expect(JSON.stringify(reply)).not.toContain(ALICE.secret);
  });
});
