// One trace per message in a replica group: a message sent with the official client to the
// master shows the send, the store append, the slave's copy of that stretch of log (a child of
// the append the send waited for) and the fsync, then the delivery and the ack, all exported to a
// real OTLP/HTTP receiver by the broker processes.
import { SimpleConsumer } from 'rocketmq-client-nodejs';
import { eventually, killAllApps, quietClientLogger, startOfficialProducer, startOtlpReceiver, startReplicaGroup, type OtlpReceiver, type ReplicaGroup, scrapeMetrics } from '@rmq/testing';

describe('tracing a message through a replica group', () => {
  let receiver: OtlpReceiver;
  let group: ReplicaGroup;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    group = await startReplicaGroup({ slaveCount: 1, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' } });
    await group.createTopic('TracedReplicated');
  }, 60_000);

  afterAll(async () => {
    await group?.stop();
    await killAllApps();
    await receiver?.close();
  });

  it('shows the slave\'s copy of the message under its store append, between the send and the delivery', async () => {
    const endpoint = group.master.endpoints.grpc;
    // The slave is in the in-sync set before the send, so the send waits for its copy.
    await eventually(async () => {
      const metrics = await scrapeMetrics(group.master);
      expect(metrics).toMatch(/^rmq_replication_in_sync_replicas\S* 2$/m);
    }, { timeoutMs: 15_000 });
    const producer = await startOfficialProducer(endpoint);
    const { messageId } = await producer.send({ topic: 'TracedReplicated', body: Buffer.from('copied') });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: endpoint, namespace: '', consumerGroup: 'traced-replica-group', subscriptions: new Map([['TracedReplicated', '*']]), awaitDuration: 3_000, logger: quietClientLogger });
    await consumer.startup();
    try {
      const received = await eventually(async () => {
        const batch = await consumer.receive(16, 30_000);
        expect(batch.map((message) => message.messageId)).toEqual([messageId]);
        return batch[0];
      }, { timeoutMs: 20_000 });
      await consumer.ack(received);
    } finally {
      await consumer.shutdown();
    }

    const spans = await eventually(() => {
      const send = receiver.spans.find((span) => span.name === 'send TracedReplicated' && span.attributes['messaging.message.id'] === messageId);
      expect(send).toBeDefined();
      const inTrace = receiver.spans.filter((span) => span.traceId === send!.traceId);
      // (A copy that another write shared with this message's append shows up under it too.)
      expect([...new Set(inTrace.map((span) => span.name))].sort()).toEqual(['ack TracedReplicated', 'deliver TracedReplicated', 'fsync', 'replicate', 'send TracedReplicated', 'store append']);
      return inTrace;
    }, { timeoutMs: 10_000 });
    const byName = (name: string) => spans.find((span) => span.name === name)!;
    const append = byName('store append');
    expect(append.parentSpanId).toBe(byName('send TracedReplicated').spanId);
    for (const copy of spans.filter((span) => span.name === 'replicate')) {
      expect(copy).toMatchObject({ serviceName: 'rmq-broker', parentSpanId: append.spanId, attributes: { 'rmq.replica': '1' } });
      expect(Number(copy.attributes['rmq.size_bytes'])).toBeGreaterThan(0);
    }
    expect(byName('fsync').parentSpanId).toBe(append.spanId);
    expect(byName('deliver TracedReplicated').parentSpanId).toBe(byName('send TracedReplicated').spanId);
  });
});
