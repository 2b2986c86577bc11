import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { createClient, errorCodeOf, namesrv, v2, type ServiceClient } from '@rmq/contracts';
import { encodeRecallHandle } from '@rmq/messaging';
import { appMainPath, eventually, killAllApps, startFaultProxy, READ_WRITE, registrationInit, startApp, topicInit, type AppProcess, scrapeMetrics } from '@rmq/testing';
import type { GenService } from '@bufbuild/protobuf/codegenv2';

type NameServerMethods = typeof namesrv.NameServerService extends GenService<infer M> ? M : never;

const CALL = { deadlineMs: 5_000 };

describe('name server', () => {
  let app: AppProcess;
  let client: ServiceClient<NameServerMethods>;

  beforeAll(async () => {
    app = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--expire-interval-ms', '100']);
    client = createClient(namesrv.NameServerService, app.endpoints.grpc);
  });

  afterAll(async () => {
    client?.close();
    await killAllApps();
  });

  const routeOf = (topic: string) => client.getTopicRoute({ topic }, CALL);

  it('routes a topic to the queues and endpoint of the broker that registered it', async () => {
    await client.registerBroker(
      registrationInit('broker-route', { endpoint: '127.0.0.1:20911', topics: [topicInit('orders', 8)] }),
      CALL,
    );
    const route = await routeOf('orders');
    expect(route.topic).toBe('orders');
    expect(route.queues).toEqual([
      expect.objectContaining({ brokerName: 'broker-route', readQueueCount: 8, writeQueueCount: 8, perm: READ_WRITE, messageType: namesrv.TopicMessageType.NORMAL }),
    ]);
    expect(route.brokers).toEqual([
      expect.objectContaining({
        broker: expect.objectContaining({ clusterName: 'DefaultCluster', brokerName: 'broker-route', brokerId: 0n }),
        endpoint: '127.0.0.1:20911',
        zone: 'zone-a',
      }),
    ]);
    expect(app.logs).toContainEqual(expect.objectContaining({ msg: 'broker registered', brokerName: 'broker-route' }));
  });

  it('clamps the lease a broker asks for to [3 s, 120 s]', async () => {
    const short = await client.registerBroker(registrationInit('broker-lease', { leaseMs: 1n }), CALL);
    const long = await client.registerBroker(registrationInit('broker-lease', { leaseMs: 3_600_000n }), CALL);
    expect([short.leaseMs, long.leaseMs]).toEqual([3_000n, 120_000n]);
    await client.unregisterBroker({ broker: registrationInit('broker-lease').broker }, CALL);
  });

  it('drops a broker from the route once its lease runs out without a renewal', async () => {
    const registered = await client.registerBroker(registrationInit('broker-silent', { leaseMs: 3_000n, topics: [topicInit('silent-topic')] }), CALL);
    expect(registered.leaseMs).toBe(3_000n);
    expect((await routeOf('silent-topic')).queues).toHaveLength(1);

    await eventually(async () => expect((await routeOf('silent-topic')).queues).toEqual([]), { timeoutMs: 10_000, intervalMs: 200 });
    expect((await routeOf('silent-topic')).brokers).toEqual([]);
    expect(app.logs).toContainEqual(expect.objectContaining({ msg: 'broker lease expired', brokerName: 'broker-silent' }));
  });

  it('removes a broker at once on UnregisterBroker', async () => {
    const registration = registrationInit('broker-leaving', { topics: [topicInit('leaving-topic')] });
    await client.registerBroker(registration, CALL);
    expect((await routeOf('leaving-topic')).queues).toHaveLength(1);

    await client.unregisterBroker({ broker: registration.broker }, CALL);
    expect((await routeOf('leaving-topic')).queues).toEqual([]);
  });

  it('answers an empty route, not an error, for a topic no broker holds', async () => {
    const route = await routeOf('nobody-has-this');
    expect(route.topic).toBe('nobody-has-this');
    expect(route.queues).toEqual([]);
    expect(route.brokers).toEqual([]);
  });

  it('lists live brokers with their endpoint, topic count and last heartbeat', async () => {
    const beforeMs = Date.now();
    await client.registerBroker(registrationInit('broker-info', { endpoint: '127.0.0.1:30911', topics: [topicInit('a'), topicInit('b')] }), CALL);
    const info = await client.getClusterInfo({}, CALL);
    const entry = info.brokers.find((b) => b.broker?.broker?.brokerName === 'broker-info');
    expect(entry).toEqual(expect.objectContaining({ topicCount: 2, brokerPerm: READ_WRITE }));
    expect(entry?.broker?.endpoint).toBe('127.0.0.1:30911');
    expect(Number(entry?.lastHeartbeatMs)).toBeGreaterThanOrEqual(beforeMs - 1_000);
  });

  it.each<[string, () => Promise<unknown>, string]>([
    ['an empty topic in GetTopicRoute', () => routeOf(''), 'topic "" is not valid: the name is empty'],
    ['a registration with an empty broker name', () => client.registerBroker(registrationInit(''), CALL), 'broker name is empty'],
    ['a registration without a broker identity', () => client.registerBroker({ ...registrationInit('x'), broker: undefined }, CALL), 'broker identity is missing'],
    ['an endpoint that is not host:port', () => client.registerBroker(registrationInit('broker-bad', { endpoint: 'localhost' }), CALL), 'endpoint must look like host:port, got "localhost"'],
    ['an empty topic name in a registration', () => client.registerBroker(registrationInit('broker-bad', { topics: [topicInit('')] }), CALL), 'the name is empty'],
    ['an unregister with an empty broker name', () => client.unregisterBroker({ broker: { clusterName: 'DefaultCluster', brokerName: '' } }, CALL), 'broker name is empty'],
  ])('refuses %s with INVALID_ARGUMENT and says why', async (_what, call, reason) => {
    const error = await call().then(
      () => undefined,
      (e: unknown) => e as grpc.ServiceError,
    );
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain(reason);
    expect(errorCodeOf(error)).toBe('BAD_REQUEST');
  });

  it('answers QueryRoute as an access point (the master of the highest epoch and its slaves as queue-0 entries); RecallMessage goes to the group its handle names', async () => {
    const messaging = createClient(v2.MessagingService, app.endpoints.grpc);
    try {
      const group = (brokerId: bigint, role: namesrv.BrokerRole, epoch: bigint, port: number) =>
        registrationInit('broker-ha', { broker: { clusterName: 'DefaultCluster', brokerName: 'broker-ha', brokerId }, role, epoch, endpoint: `127.0.0.1:${port}`, topics: [topicInit('ha-topic', 2)] });
      await client.registerBroker(group(0n, namesrv.BrokerRole.MASTER, 4n, 41000), CALL); // an old master, still alive
      await client.registerBroker(group(1n, namesrv.BrokerRole.MASTER, 5n, 41001), CALL);
      await client.registerBroker(group(2n, namesrv.BrokerRole.SLAVE, 5n, 41002), CALL);
      const reply = await messaging.queryRoute({ topic: { name: 'ha-topic' } }, CALL);
      expect(reply.status?.code).toBe(v2.Code.OK);
      expect(reply.messageQueues.map((q) => [q.broker?.name, q.broker?.id, q.broker?.endpoints?.addresses[0]?.port, q.id, q.permission])).toEqual([
        ['broker-ha', 1, 41002, 0, v2.Permission.READ_WRITE],
        ['broker-ha', 0, 41001, 0, v2.Permission.READ_WRITE],
        ['broker-ha', 0, 41001, 1, v2.Permission.READ_WRITE],
      ]);
      const info = await client.getClusterInfo({}, CALL);
      const routed = info.brokers.filter((b) => b.broker?.broker?.brokerName === 'broker-ha').map((b) => [b.broker?.broker?.brokerId, b.routed]);
      expect(routed).toEqual([[0n, false], [1n, true], [2n, true]]);

      const missing = await messaging.queryRoute({ topic: { name: 'no-such-topic' } }, CALL);
      expect(missing.status?.code).toBe(v2.Code.TOPIC_NOT_FOUND);
      const send = await messaging.sendMessage({ messages: [] }, CALL);
      expect([send.status?.code, send.status?.message]).toEqual([v2.Code.NOT_IMPLEMENTED, 'SendMessage goes to a broker named in the route; this name server answers QueryRoute only']);
      // RecallMessage goes to the group the handle names; what cannot go anywhere gets a clear status.
      const recall = async (recallHandle: string) => {
        const reply = await messaging.recallMessage({ topic: { name: 'ha-topic' }, recallHandle }, CALL);
        return [v2.Code[reply.status!.code], reply.status?.message];
      };
      const handle = (brokerName?: string) => encodeRecallHandle({ topic: 'ha-topic', messageId: '01AB', scheduleQueueOffset: 3, brokerName });
      expect(await recall('')).toEqual(['BAD_REQUEST', expect.stringMatching(/^recall handle is not valid: it is not a handle this cluster issued/)]);
      expect(await recall(handle())).toEqual(['BAD_REQUEST', expect.stringMatching(/^recall handle is not valid: it names no broker group/)]);
      expect(await recall(handle('broker-nowhere'))).toEqual(['NOT_FOUND', 'broker group broker-nowhere named by the recall handle is not known to this name server: no broker of it has registered']);
      // broker-ha's master and slave registered endpoints where nothing listens: both are tried.
      expect(await recall(handle('broker-ha'))).toEqual(['HA_NOT_AVAILABLE', expect.stringMatching(/^broker group broker-ha has no reachable master \(127\.0\.0\.1:41001 unreachable: .*; 127\.0\.0\.1:41002 unreachable: /)]);
      // A master that hangs (a cut cable: the connection is accepted, no byte passes) leaves time to try the slave.
      const cable = await startFaultProxy({ upstream: app.endpoints.grpc });
      try {
        cable.setMode('blackhole');
        const member = (brokerId: bigint, role: namesrv.BrokerRole, endpoint: string) =>
          registrationInit('broker-cut', { broker: { clusterName: 'DefaultCluster', brokerName: 'broker-cut', brokerId }, role, epoch: 1n, endpoint, topics: [topicInit('cut-topic', 1)] });
        await client.registerBroker(member(0n, namesrv.BrokerRole.MASTER, cable.address), CALL);
        await client.registerBroker(member(1n, namesrv.BrokerRole.SLAVE, '127.0.0.1:41003'), CALL);
        expect(await recall(handle('broker-cut'))).toEqual(['HA_NOT_AVAILABLE', expect.stringMatching(new RegExp(`^broker group broker-cut has no reachable master \\(${cable.address} unreachable: Deadline exceeded.*; 127\\.0\\.0\\.1:41003 unreachable: `))]);
      } finally {
        await cable.close();
      }
      const frames: v2.ReceiveMessageResponse[] = [];
      for await (const frame of messaging.receiveMessage({}, CALL)) frames.push(frame as v2.ReceiveMessageResponse);
      expect(frames.map((f) => f.content.case === 'status' && f.content.value.code)).toEqual([v2.Code.NOT_IMPLEMENTED]);
    } finally {
      messaging.close();
    }
  });

  it('serves /health and /metrics with the name server gauges', async () => {
    await client.registerBroker(registrationInit('broker-metrics', { topics: [topicInit('metrics-topic')] }), CALL);
    const health = await fetch(`http://${app.endpoints.http}/health`);
    expect(health.status).toBe(200);
    const metrics = await scrapeMetrics(app);
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(value('rmq_namesrv_live_brokers')).toBeGreaterThanOrEqual(1);
    expect(value('rmq_namesrv_topics')).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^rmq_namesrv_registrations_total\{[^}]*outcome="new"[^}]*\} \d+$/m);
    expect(metrics).toContain('rmq_namesrv_expired_brokers_total');
  });
});

describe('name server process', () => {
  afterAll(killAllApps);

  it('exits with code 0 on SIGTERM', async () => {
    const app = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], { label: 'name-server-sigterm' });
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(app.logs).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
  });

  it('refuses a bad option with exit code 2 and a message naming it', () => {
    const run = spawnSync(process.execPath, [appMainPath('name-server'), '--listen', 'nowhere'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--listen must look like host:port, got "nowhere"');
  });

  it('prints its options for --help', () => {
    const run = spawnSync(process.execPath, [appMainPath('name-server'), '--help'], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--expire-interval-ms');
  });
});
