import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { appMainPath, eventually, killAllApps, startApp, type AppProcess, scrapeMetrics } from '@rmq/testing';
import { sampleValue } from '@rmq/testing';
import { StandInBroker, StandInNameServer } from './stand-in-cluster';
import type { ClusterSnapshot } from '../src/cluster-snapshot';

const RPC_TIMEOUT_MS = 300;

const brokers: StandInBroker[] = [];
let nameServer: StandInNameServer;
let app: AppProcess;

/** A loopback port that nothing listens on: a name server that is down. */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const metricsText = () => scrapeMetrics(app);

const brokerLabels = (broker: string, brokerId: number) => ({ cluster: 'c1', broker, broker_id: String(brokerId) });

beforeAll(async () => {
  brokers.push(
    await StandInBroker.start({ clusterName: 'c1', brokerName: 'broker-a', brokerId: 0, logEndOffset: 4_096, topics: { TopicA: [5, 7], TopicB: [3] } }),
    // A slave holds the same queues, a little behind: its queues must not be counted twice.
    await StandInBroker.start({ clusterName: 'c1', brokerName: 'broker-a', brokerId: 1, logEndOffset: 4_000, topics: { TopicA: [5, 6], TopicB: [3] } }),
    await StandInBroker.start({ clusterName: 'c1', brokerName: 'broker-b', brokerId: 0, logEndOffset: 512, topics: { TopicA: [10] } }),
  );
  nameServer = await StandInNameServer.start(() => brokers);
  app = await startApp('metrics', [
    '--http-listen', '127.0.0.1:0',
    '--name-servers', `${await deadAddress()},${nameServer.address}`,
    '--poll-interval-ms', '100',
    '--rpc-timeout-ms', String(RPC_TIMEOUT_MS),
  ]);
});

afterAll(async () => {
  await killAllApps();
  for (const broker of brokers) broker.stop();
  nameServer?.stop();
});

describe('metrics app', () => {
  it('turns the cluster into gauges, asking the next name server when the first is down', async () => {
    const text = await eventually(async () => {
      const body = await metricsText();
      expect(sampleValue(body, 'rmq_cluster_brokers', { cluster: 'c1' })).toBe(3);
      return body;
    });
    expect(sampleValue(text, 'rmq_name_server_up')).toBe(1);
    expect(sampleValue(text, 'rmq_broker_up', brokerLabels('broker-a', 0))).toBe(1);
    expect(sampleValue(text, 'rmq_broker_up', brokerLabels('broker-a', 1))).toBe(1);
    expect(sampleValue(text, 'rmq_broker_up', brokerLabels('broker-b', 0))).toBe(1);
    expect(sampleValue(text, 'rocketmq_topic_number', brokerLabels('broker-a', 0))).toBe(2);
    expect(sampleValue(text, 'rocketmq_topic_number', brokerLabels('broker-b', 0))).toBe(1);
    expect(sampleValue(text, 'rmq_broker_log_end_offset', brokerLabels('broker-a', 0))).toBe(4_096);
    expect(sampleValue(text, 'rmq_broker_log_end_offset', brokerLabels('broker-b', 0))).toBe(512);
    // TopicA: broker-a queues max(5,5) + max(7,6), plus broker-b's 10.
    expect(sampleValue(text, 'rmq_topic_messages', { cluster: 'c1', topic: 'TopicA' })).toBe(22);
    expect(sampleValue(text, 'rmq_topic_messages', { cluster: 'c1', topic: 'TopicB' })).toBe(3);
  });

  it('serves the last snapshot as JSON on /api/cluster, and /health', async () => {
    const response = await fetch(`http://${app.endpoints.http}/api/cluster`);
    expect(response.status).toBe(200);
    const snapshot = (await response.json()) as ClusterSnapshot;
    expect(snapshot.nameServer).toBe(nameServer.address);
    expect(snapshot.brokers.map((b) => [b.brokerName, b.brokerId, b.up])).toEqual([
      ['broker-a', 0, true],
      ['broker-a', 1, true],
      ['broker-b', 0, true],
    ]);
    expect(snapshot.topics).toContainEqual({ clusterName: 'c1', topic: 'TopicA', messages: 22, queueCount: 3, brokerNames: ['broker-a', 'broker-b'] });
    expect((await fetch(`http://${app.endpoints.http}/health`)).status).toBe(200);
  });

  it('shows a broker that stops answering as down once its calls pass their deadline, and keeps polling the rest', async () => {
    brokers[2].mode = 'hang';
    await eventually(async () => expect(sampleValue(await metricsText(), 'rmq_broker_up', brokerLabels('broker-b', 0))).toBe(0));
    const text = await metricsText();
    expect(sampleValue(text, 'rmq_broker_up', brokerLabels('broker-a', 0))).toBe(1);
    expect(sampleValue(text, 'rmq_topic_messages', { cluster: 'c1', topic: 'TopicA' })).toBe(12);
    const snapshot = (await (await fetch(`http://${app.endpoints.http}/api/cluster`)).json()) as ClusterSnapshot;
    expect(snapshot.brokers[2].error).toContain('DEADLINE_EXCEEDED');
  });

  it('shows a broker whose server is gone as down, without crashing', async () => {
    brokers[1].stop();
    await eventually(async () => expect(sampleValue(await metricsText(), 'rmq_broker_up', brokerLabels('broker-a', 1))).toBe(0));
    expect(app.child.exitCode).toBeNull();
    expect(app.logs.some((entry) => entry.msg === 'broker did not answer' && entry.brokerName === 'broker-b')).toBe(true);
  });

  it('shows a broker that answers again as up', async () => {
    brokers[2].mode = 'answer';
    await eventually(async () => expect(sampleValue(await metricsText(), 'rmq_broker_up', brokerLabels('broker-b', 0))).toBe(1));
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await app.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});

describe('metrics command line', () => {
  it('exits 2 with a message on stderr for a bad name server address', () => {
    const run = spawnSync(process.execPath, [appMainPath('metrics'), '--name-servers', '127.0.0.1:9876,nowhere'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--name-servers must look like host:port, got "nowhere"');
  });

  it('prints its options for --help', () => {
    const run = spawnSync(process.execPath, [appMainPath('metrics'), '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--poll-interval-ms');
  });
});
