// The commit log alone is the broker's state: a broker started on nothing but another broker's
// commit log segments (no queue files, no snapshot file, no config) serves the same topics,
// groups and settings, consumer progress and in-flight deliveries, and accepts the first broker's
// receipt handles; the official client reads on where it stopped.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { admin, createClient, v2 } from '@rmq/contracts';
import { eventually, makeTempDir, officialSimpleConsumer as simpleConsumer, runRmq, shutdownOfficialClient, startApp } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

async function receiveAll(consumer: SimpleConsumer, invisibleMs: number, count: number): Promise<MessageView[]> {
  const got: MessageView[] = [];
  await eventually(async () => {
    got.push(...(await consumer.receive(Math.min(32, count - got.length), invisibleMs)));
    expect(got.length).toBe(count);
  }, { timeoutMs: 20_000 });
  return got;
}

describe('broker state kept in the commit log', () => {
  // Deadlines of 2 s (below the SimpleConsumer minimum of 10 s) keep the SIGKILL test short.
  const local = useLocalCluster({ brokerArgs: ['--invisible-ms-min', '1000'], producer: true });

  it('a broker started on nothing but the commit log segments serves the same topics, groups, progress and in-flight deliveries', async () => {
    await local.cluster.createTopic('LogOnlyTopic', { queueCount: 2 });
    const group = await runRmq(['group', 'create', 'LogOnlyGroup', '--max-attempts', '5', '--retry', 'customized:2s,4s', '--broker', local.cluster.endpoint]);
    expect(group.code).toBe(0);
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) sent.push((await local.producer.send({ topic: 'LogOnlyTopic', body: Buffer.from(`m${i}`) })).messageId);

    // 10 acked, 5 left in flight for a long time, 15 never received.
    const consumer = simpleConsumer(local.cluster.endpoint, 'LogOnlyGroup', 'LogOnlyTopic');
    await consumer.startup();
    const acked = await receiveAll(consumer, 60_000, 10);
    for (const message of acked) await consumer.ack(message);
    const inFlight = await receiveAll(consumer, 60_000, 5);
    const before = await local.cluster.admin.getGroup({ name: 'LogOnlyGroup' }, { deadlineMs: 5_000 });

    // Only the commit log goes to the new broker's data folder.
    const copy = makeTempDir('log-only');
    mkdirSync(join(copy.path, 'store'), { recursive: true });
    await local.cluster.broker.kill('SIGKILL');
    cpSync(join(local.cluster.dataDir, 'store', 'commitlog'), join(copy.path, 'store', 'commitlog'), { recursive: true });
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', copy.path, '--name-servers', '', '--broker-name', 'copy']);
    const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
    try {
      const topics = await adminClient.listTopics({}, { deadlineMs: 5_000 });
      expect(topics.topics.map((topic) => topic.name)).toContain('LogOnlyTopic');
      const after = await adminClient.getGroup({ name: 'LogOnlyGroup' }, { deadlineMs: 5_000 });
      expect(after.exists).toBe(true);
      expect(after.group).toMatchObject({ maxAttempts: 5, retryPolicy: 'customized:2s,4s' });
      const progress = (reply: admin.GetGroupResponse) => reply.queues.map((queue) => [queue.topic, queue.queueId, queue.committedOffset, queue.inflight]);
      expect(progress(after)).toEqual(progress(before));

      // Reading on: only the 15 never received come now; the 5 in flight stay invisible, and a
      // handle issued by the first broker acks one of them here.
      const reader = simpleConsumer(broker.endpoints.grpc, 'LogOnlyGroup', 'LogOnlyTopic');
      await reader.startup();
      try {
        const rest = await receiveAll(reader, 60_000, 15);
        const expected = sent.filter((id) => !acked.some((m) => m.messageId === id) && !inFlight.some((m) => m.messageId === id));
        expect(rest.map((m) => m.messageId).sort()).toEqual(expected.sort());
        expect(await reader.receive(32, 60_000)).toEqual([]);
        // (The client would send this ack to the broker that delivered the message: send it here directly.)
        const messaging = createClient(v2.MessagingService, broker.endpoints.grpc);
        const ack = await messaging.ackMessage({ group: { name: 'LogOnlyGroup' }, topic: { name: 'LogOnlyTopic' }, entries: [{ messageId: inFlight[0].messageId, receiptHandle: inFlight[0].receiptHandle }] }, { deadlineMs: 5_000 });
        messaging.close();
        expect(ack.entries[0].status?.code).toBe(v2.Code.OK);
        for (const message of rest) await reader.ack(message);
        const final = await adminClient.getGroup({ name: 'LogOnlyGroup' }, { deadlineMs: 5_000 });
        expect(final.queues.reduce((sum, queue) => sum + queue.inflight, 0)).toBe(4);
      } finally {
        await reader.shutdown();
      }
    } finally {
      adminClient.close();
      await broker.kill('SIGTERM');
      copy.remove();
      await local.cluster.restartBroker('SIGKILL');
      await shutdownOfficialClient(consumer);
      await eventually(() => local.cluster.admin.listTopics({}, { deadlineMs: 1_000 }));
    }
  }, 90_000);

  it('deliveries answered just before a SIGKILL survive it (written, not yet durable): their handles ack after the restart', async () => {
    await local.cluster.createTopic('DeliveredTopic', { queueCount: 2 });
    for (let i = 0; i < 24; i++) await local.producer.send({ topic: 'DeliveredTopic', body: Buffer.from(`d${i}`) });
    const consumer = simpleConsumer(local.cluster.endpoint, 'delivered', 'DeliveredTopic');
    await consumer.startup();
    // A receive answers once its delivery records reached the OS; the kill follows the last answer at once.
    const received = await receiveAll(consumer, 60_000, 24);
    await local.cluster.restartBroker('SIGKILL');
    await shutdownOfficialClient(consumer);
    const messaging = createClient(v2.MessagingService, local.cluster.endpoint);
    try {
      const ack = await messaging.ackMessage(
        { group: { name: 'delivered' }, topic: { name: 'DeliveredTopic' }, entries: received.map((message) => ({ messageId: message.messageId, receiptHandle: message.receiptHandle })) },
        { deadlineMs: 10_000 },
      );
      expect(ack.entries.map((entry) => entry.status?.code)).toEqual(received.map(() => v2.Code.OK));
      const group = await local.cluster.admin.getGroup({ name: 'delivered' }, { deadlineMs: 5_000 });
      const sum = (of: (queue: admin.GroupQueueProgress) => number) => group.queues.reduce((total, queue) => total + of(queue), 0);
      expect({ committed: sum((queue) => Number(queue.committedOffset)), inflight: sum((queue) => queue.inflight) }).toEqual({ committed: 24, inflight: 0 });
    } finally {
      messaging.close();
    }
  }, 60_000);

  it('an ack answered OK is never undone by a SIGKILL, and a changed invisible duration keeps its new deadline', async () => {
    await local.cluster.createTopic('AckDurableTopic', { queueCount: 1 });
    for (let i = 0; i < 20; i++) await local.producer.send({ topic: 'AckDurableTopic', body: Buffer.from(`a${i}`) });
    let consumer = simpleConsumer(local.cluster.endpoint, 'ack-durable', 'AckDurableTopic');
    await consumer.startup();
    const received = await receiveAll(consumer, 2_000, 20);
    for (const message of received.slice(0, 19)) await consumer.ack(message);
    // The last one is pushed out to 60 s: after the crash it must not come back at the old 2 s deadline.
    await consumer.changeInvisibleDuration(received[19], 60_000);
    await local.cluster.restartBroker('SIGKILL');
    await shutdownOfficialClient(consumer);
    consumer = simpleConsumer(local.cluster.endpoint, 'ack-durable', 'AckDurableTopic');
    await consumer.startup();
    try {
      // Well past the 2 s deadlines: nothing acked comes back, nor the one whose deadline moved.
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) expect(await consumer.receive(32, 2_000)).toEqual([]);
      const group = await local.cluster.admin.getGroup({ name: 'ack-durable' }, { deadlineMs: 5_000 });
      expect(group.queues[0]).toMatchObject({ committedOffset: 19n, inflight: 1 });
    } finally {
      await consumer.shutdown();
    }
  }, 60_000);
});
