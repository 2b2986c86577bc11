// One trace per message, end to end: the official client sends (it carries no trace context,
// so the broker's send span starts the trace and becomes the message's creation context), a
// SimpleConsumer receives and acks; our SDK's send span parents the broker's. Spans reach a
// real OTLP/HTTP receiver from the broker and name server processes.
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { SimpleConsumer } from 'rocketmq-client-nodejs';
import { Producer as SdkProducer } from '@rmq/client';
import { eventually, killAllApps, quietClientLogger, startOfficialProducer, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@rmq/testing';
import { startLocalCluster, type LocalCluster } from './local-cluster';

describe('tracing with OpenTelemetry', () => {
  let receiver: OtlpReceiver;
  let cluster: LocalCluster;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    cluster = await startLocalCluster([], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' } });
    await cluster.createTopic('TracedTopic');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await killAllApps();
    await receiver?.close();
  });

  const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const one = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((span) => span.name === name);
    expect(found.map((span) => span.name)).toEqual([name]);
    return found[0];
  };

  it('gives a message sent with the official client one trace: send, store append, fsync, delivery, ack', async () => {
    const producer = await startOfficialProducer(cluster.endpoint);
    const { messageId } = await producer.send({ topic: 'TracedTopic', body: Buffer.from('traced'), tag: 'a' });
    await producer.shutdown();
    const consumer = new SimpleConsumer({ endpoints: cluster.endpoint, namespace: '', consumerGroup: 'traced-group', subscriptions: new Map([['TracedTopic', '*']]), awaitDuration: 3_000, logger: quietClientLogger });
    await consumer.startup();
    const received = await eventually(async () => {
      const batch = await consumer.receive(16, 30_000);
      expect(batch.map((message) => message.messageId)).toEqual([messageId]);
      return batch[0];
    }, { timeoutMs: 20_000 });
    await consumer.ack(received);
    await consumer.shutdown();

    const send = await eventually(() => {
      const found = receiver.spans.find((span) => span.name === 'send TracedTopic' && span.attributes['messaging.message.id'] === messageId);
      expect(found).toBeDefined();
      return found!;
    }, { timeoutMs: 10_000 });
    expect(send).toMatchObject({ serviceName: 'rmq-broker', kind: 'SERVER', parentSpanId: '', attributes: { 'messaging.system': 'rocketmq', 'messaging.destination.name': 'TracedTopic', 'messaging.operation.type': 'send' } });

    const spans = await eventually(() => {
      const inTrace = spansOf(send.traceId);
      expect(inTrace.map((span) => span.name).sort()).toEqual(['ack TracedTopic', 'deliver TracedTopic', 'fsync', 'send TracedTopic', 'store append']);
      return inTrace;
    }, { timeoutMs: 10_000 });
    const append = one(spans, 'store append');
    expect(append.parentSpanId).toBe(send.spanId);
    expect(one(spans, 'fsync').parentSpanId).toBe(append.spanId);
    const deliver = one(spans, 'deliver TracedTopic');
    expect(deliver).toMatchObject({ parentSpanId: send.spanId, attributes: { 'messaging.message.id': messageId, 'messaging.consumer.group.name': 'traced-group', 'messaging.rocketmq.message.delivery_attempt': 1 } });
    expect(one(spans, 'ack TracedTopic')).toMatchObject({ parentSpanId: deliver.spanId, attributes: { 'messaging.message.id': messageId, 'messaging.operation.type': 'settle' } });

    // The receive RPC has its own trace, linked both ways with the message's.
    const receive = receiver.spans.find((span) => span.spanId === deliver.links[0]?.spanId)!;
    expect(receive).toMatchObject({ name: 'receive TracedTopic', kind: 'SERVER' });
    expect(receive.links).toContainEqual({ traceId: send.traceId, spanId: send.spanId });
  });

  it('continues the trace of our SDK: its send span is the parent of the broker\'s', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    const producer = SdkProducer.start({ endpoints: cluster.endpoint });
    const root = provider.getTracer('test').startSpan('checkout');
    const receipt = await context.with(trace.setSpan(context.active(), root), () => producer.send({ topic: 'TracedTopic', body: 'from the sdk' }));
    root.end();
    await producer.close();
    const sdkSend = exporter.getFinishedSpans().find((span) => span.name === 'send TracedTopic')!;
    expect(sdkSend.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    const brokerSend = await eventually(() => {
      const found = receiver.spans.find((span) => span.name === 'send TracedTopic' && span.attributes['messaging.message.id'] === receipt.messageId);
      expect(found).toBeDefined();
      return found!;
    }, { timeoutMs: 10_000 });
    expect(brokerSend).toMatchObject({ traceId: root.spanContext().traceId, parentSpanId: sdkSend.spanContext().spanId });
    await provider.shutdown();
  });

  it('traces control-plane calls between apps with the grpc-js instrumentation', async () => {
    const register = await eventually(() => {
      const server = receiver.spans.find((span) => span.serviceName === 'rmq-name-server' && span.kind === 'SERVER' && span.name.includes('RegisterBroker'));
      expect(server).toBeDefined();
      return server!;
    }, { timeoutMs: 10_000 });
    const client = receiver.spans.find((span) => span.spanId === register.parentSpanId);
    expect(client).toMatchObject({ serviceName: 'rmq-broker', kind: 'CLIENT', traceId: register.traceId });
  });
});
