// The broker's NameServerRegistrar against a real name server process.
import { createServer } from 'node:net';
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { createClient, namesrv, type ServiceClient } from '@rmq/contracts';
import { createLogger } from '@rmq/observability';
import { eventually, killAllApps, registrationInit, startApp, topicInit, type AppProcess } from '@rmq/testing';
import { NameServerRegistrar } from '../src/name-server-registrar';

type NameServerMethods = typeof namesrv.NameServerService extends GenService<infer M> ? M : never;

const CALL = { deadlineMs: 5_000 };

describe('NameServerRegistrar', () => {
  let app: AppProcess;
  let client: ServiceClient<NameServerMethods>;
  let deadNameServer: string;

  beforeAll(async () => {
    app = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--expire-interval-ms', '100']);
    client = createClient(namesrv.NameServerService, app.endpoints.grpc);
    deadNameServer = await closedPort();
  });

  afterAll(async () => {
    client?.close();
    await killAllApps();
  });

  function newRegistrar(brokerName: string, topics: string[], nameServers: string[]) {
    const logs: Record<string, unknown>[] = [];
    let builds = 0;
    const registrar = new NameServerRegistrar({
      nameServers,
      intervalMs: 1_000,
      callDeadlineMs: 2_000,
      log: createLogger({}, { level: 'debug', write: (line) => logs.push(JSON.parse(line)) }),
      registration: () => {
        builds++;
        return registrationInit(brokerName, { endpoint: '127.0.0.1:40911', topics: topics.map((name) => topicInit(name)), leaseMs: 0n });
      },
    });
    return { registrar, logs, builds: () => builds };
  }

  it('registers at start with a lease of three intervals, keeps the broker live by heartbeat, and unregisters on stop', async () => {
    const { registrar, logs } = newRegistrar('broker-heartbeat', ['heartbeat-topic'], [app.endpoints.grpc]);
    expect(await registrar.start()).toEqual([{ nameServer: app.endpoints.grpc, ok: true, leaseMs: 3_000 }]);
    const route = await client.getTopicRoute({ topic: 'heartbeat-topic' }, CALL);
    expect(route.brokers.map((b) => b.endpoint)).toEqual(['127.0.0.1:40911']);

    // Outlive the first lease: only the ticks can keep the broker in the route.
    const firstHeartbeatMs = await lastHeartbeatMs('broker-heartbeat');
    await eventually(async () => expect(await lastHeartbeatMs('broker-heartbeat')).toBeGreaterThanOrEqual(firstHeartbeatMs + 3_000), {
      timeoutMs: 10_000,
      intervalMs: 250,
    });
    expect((await client.getTopicRoute({ topic: 'heartbeat-topic' }, CALL)).queues).toHaveLength(1);

    await registrar.stop();
    expect((await client.getTopicRoute({ topic: 'heartbeat-topic' }, CALL)).queues).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'unregistered from name server', nameServer: app.endpoints.grpc }));
  });

  it('sends a new topic at once on registerNow', async () => {
    const topics = ['first-topic'];
    const { registrar } = newRegistrar('broker-topics', topics, [app.endpoints.grpc]);
    await registrar.start();
    topics.push('created-later');
    const results = await registrar.registerNow();
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await client.getTopicRoute({ topic: 'created-later' }, CALL)).queues).toEqual([
      expect.objectContaining({ brokerName: 'broker-topics' }),
    ]);
    await registrar.stop();
  });

  it('runs at most one round and one waiting round when asked many times at once', async () => {
    const { registrar, builds } = newRegistrar('broker-burst', ['burst-topic'], [app.endpoints.grpc]);
    const rounds = await Promise.all(Array.from({ length: 10 }, () => registrar.registerNow()));
    expect(rounds.every((results) => results.length === 1 && results[0].ok)).toBe(true);
    expect(builds()).toBeLessThanOrEqual(2);
    await registrar.stop();
  });

  it('keeps registering with the live name server while another is down, warning once per outage, and never throws', async () => {
    const { registrar, logs } = newRegistrar('broker-partial', ['partial-topic'], [deadNameServer, app.endpoints.grpc]);
    const results = await registrar.start();
    expect(results).toEqual([
      expect.objectContaining({ nameServer: deadNameServer, ok: false, error: expect.any(String) }),
      expect.objectContaining({ nameServer: app.endpoints.grpc, ok: true }),
    ]);
    expect((await client.getTopicRoute({ topic: 'partial-topic' }, CALL)).queues).toHaveLength(1);

    const stillFailing = () => logs.filter((l) => l.msg === 'registration with name server still failing');
    await eventually(() => expect(stillFailing().length).toBeGreaterThanOrEqual(2), { timeoutMs: 10_000 });
    expect(logs.filter((l) => l.msg === 'registration with name server failed')).toHaveLength(1);

    await registrar.stop();
    expect(logs).toContainEqual(expect.objectContaining({ msg: expect.stringContaining('unregister from name server failed'), nameServer: deadNameServer }));
    expect((await client.getTopicRoute({ topic: 'partial-topic' }, CALL)).queues).toEqual([]);
  });

  async function lastHeartbeatMs(brokerName: string): Promise<number> {
    const info = await client.getClusterInfo({}, CALL);
    const entry = info.brokers.find((b) => b.broker?.broker?.brokerName === brokerName);
    if (!entry) throw new Error(`${brokerName} is not live`);
    return Number(entry.lastHeartbeatMs);
  }
});

/** host:port of a loopback port that was free a moment ago: nothing answers there. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
}
