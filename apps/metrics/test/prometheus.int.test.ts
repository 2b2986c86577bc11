// Debian's real Prometheus against a local stack (name server, controller, a broker group of a
// master and a slave, metrics app), with the rules of deploy/prometheus: after a known workload, a
// group's lag is the messages it has not acknowledged (counted once, though the slave holds a copy
// of the group's progress) and its in-flight count the messages it received and did not acknowledge.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageView } from 'rocketmq-client-nodejs';
import { admin, createClient } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, sampleValue, sendWithOfficialClient, startApp, startOfficialSimpleConsumer, startPrometheus, type PrometheusServer, scrapeMetrics } from '@rmq/testing';

describe('Prometheus scraping the stack', () => {
  let prometheus: PrometheusServer | undefined;
  const temp = makeTempDir('prometheus-stack');

  afterAll(async () => {
    await prometheus?.stop();
    await killAllApps();
    temp.remove();
  });

  it('sees every app up, and a group\'s lag and in-flight messages as the workload left them', async () => {
    // The local stack's shape (tools/stack.mjs): name server, controller, broker group broker-a of
    // two brokers whose roles the controller decides, metrics.
    const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
    const controller = await startApp('replication', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, 'replication')]);
    const brokers = await Promise.all([0, 1].map((brokerId) => startApp('broker', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', join(temp.path, `broker-a-${brokerId}`), '--name-servers', nameServer.endpoints.grpc,
      '--controller', controller.endpoints.grpc, '--broker-name', 'broker-a', '--broker-id', String(brokerId),
    ], { label: `broker-a-${brokerId}` })));
    const metricsApp = await startApp('metrics', ['--http-listen', '127.0.0.1:0', '--name-servers', nameServer.endpoints.grpc, '--poll-interval-ms', '500']);
    prometheus = await startPrometheus({
      'name-server': [nameServer.endpoints.http], replication: [controller.endpoints.http], broker: brokers.map((broker) => broker.endpoints.http), metrics: [metricsApp.endpoints.http],
    });
    await prometheus.waitForTargetsUp();
    const broker = await eventually(async () => {
      const roles = await Promise.all(brokers.map(async (candidate) => sampleValue(await scrapeMetrics(candidate), 'rmq_broker_role', { role: 'master' })));
      const master = brokers[roles.indexOf(1)];
      if (!master) throw new Error(`no master yet (roles ${roles})`);
      return master;
    }, { timeoutMs: 20_000 });

    const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
    await adminClient.createTopic({ name: 'PromTopic', queueCount: 1 }, { deadlineMs: 5_000 });
    adminClient.close();
    await sendWithOfficialClient(broker.endpoints.grpc, 'PromTopic', 10);
    const consumer = await startOfficialSimpleConsumer(broker.endpoints.grpc, 'prom-group', 'PromTopic');
    try {
      const received: MessageView[] = [];
      await eventually(async () => {
        received.push(...(await consumer.receive(4 - received.length, 120_000)));
        if (received.length !== 4) throw new Error(`received ${received.length} of 4`);
      }, { timeoutMs: 20_000 });
      await consumer.ack(received[0]);

      // 10 stored, 1 acknowledged: lag 9; 4 received, 1 acknowledged: 3 in flight.
      const selector = '{consumer_group="prom-group",topic="PromTopic"}';
      await eventually(async () => {
        expect(await prometheus!.queryOne(`rmq:consumer_lag_messages:sum${selector}`)).toBe(9);
        expect(await prometheus!.queryOne(`rmq:consumer_inflight_messages:sum${selector}`)).toBe(3);
        expect(await prometheus!.queryOne(`sum(rocketmq_consumer_ready_messages${selector})`)).toBe(6);
        // Messages wait unacknowledged and undelivered: both latencies are ages above zero.
        expect(await prometheus!.queryOne(`max(rocketmq_consumer_lag_latency${selector})`)).toBeGreaterThan(0);
        expect(await prometheus!.queryOne(`max(rocketmq_consumer_queueing_latency${selector})`)).toBeGreaterThan(0);
        expect(await prometheus!.queryOne('sum(rocketmq_messages_in_total{topic="PromTopic"})')).toBe(10);
        expect(await prometheus!.queryOne('rmq:broker_group_masters:sum{broker_name="broker-a"}')).toBe(1);
        expect(await prometheus!.queryOne('count(up == 1)')).toBe(5);
        // The slave is in sync and copied everything: no lag in bytes, and in seconds at most a few evaluations.
        expect(await prometheus!.queryOne('max(rmq_replication_in_sync_replicas)')).toBe(2);
        expect(await prometheus!.queryOne('max(rmq_replication_slave_lag_bytes{replica!="self"})')).toBe(0);
        expect(await prometheus!.queryOne('max(rmq_replication_slave_lag_seconds)')).toBeLessThan(1);
      }, { timeoutMs: 20_000, intervalMs: 500 });
    } finally {
      await consumer.shutdown();
    }
  }, 90_000);

  it('answers every query of the Grafana dashboard', async () => {
    const dashboard = JSON.parse(readFileSync(join(__dirname, '../../../deploy/grafana/rmq-cluster.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr.replace(/\$(cluster|group)/g, '.*')));
    expect(expressions.length).toBeGreaterThan(10);
    for (const expression of expressions) expect(Array.isArray(await prometheus!.query(expression))).toBe(true); // a refused query throws
    // The lag panel shows the workload's group.
    expect((await prometheus!.query(expressions[3])).map((sample) => sample.metric.consumer_group)).toContain('prom-group');
  });
});
