// Delay and transactional messages need nothing but the commit log: a broker started on another
// broker's commit log segments alone (what a replica taking over has) delivers every pending
// delay message once and at its time, keeps recalls, and knows the open transactions, which it
// then commits by their original transaction ids.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { admin, createClient, durationFromMs, namesrv, v2 } from '@rmq/contracts';
import { eventually, killAllApps, makeTempDir, startApp, startOfficialProducer, scrapeMetrics } from '@rmq/testing';
import { startLocalCluster, type LocalCluster } from './local-cluster';

describe('delay and transactional messages from the commit log alone', () => {
  let cluster: LocalCluster;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    await cluster.createTopic('LaterTopic', { queueCount: 2, messageType: namesrv.TopicMessageType.DELAY });
    await cluster.createTopic('TxTopic', { queueCount: 2, messageType: namesrv.TopicMessageType.TRANSACTION });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await killAllApps();
  });

  it('a broker on the copied log delivers the pending delay messages, keeps the recall, and ends the open transaction', async () => {
    const producer = await startOfficialProducer(cluster.endpoint);
    const messaging = createClient(v2.MessagingService, cluster.endpoint);
    await producer.send({ topic: 'LaterTopic', body: Buffer.from('early'), delay: 1 });
    await producer.send({ topic: 'LaterTopic', body: Buffer.from('later-1'), delay: 3_000 });
    await producer.send({ topic: 'LaterTopic', body: Buffer.from('later-2'), delay: 5_000 });
    const recalled = await producer.send({ topic: 'LaterTopic', body: Buffer.from('recalled'), delay: 4_000 });
    await producer.recallMessage('LaterTopic', recalled.recallHandle);
    const half = await messaging.sendMessage({ messages: [{ topic: { name: 'TxTopic' }, body: Buffer.from('open'), systemProperties: { messageId: 'TX-LOG-ONLY', messageType: v2.MessageType.TRANSACTION, orphanedTransactionRecoveryDuration: durationFromMs(3_600_000) } }] });
    const transactionId = half.entries[0].transactionId;
    messaging.close();
    await producer.shutdown().catch(() => undefined);
    // The early one is delivered on the first broker before it dies.
    await eventually(async () => expect((await cluster.admin.getTopic({ name: 'LaterTopic' })).queues.reduce((sum, q) => sum + Number(q.maxOffset), 0)).toBe(1));

    const copy = makeTempDir('model-log-only');
    mkdirSync(join(copy.path, 'store'), { recursive: true });
    await cluster.broker.kill('SIGKILL');
    cpSync(join(cluster.dataDir, 'store', 'commitlog'), join(copy.path, 'store', 'commitlog'), { recursive: true });
    const broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', copy.path, '--name-servers', '', '--broker-name', 'copy']);
    const adminClient = createClient(admin.AdminService, broker.endpoints.grpc);
    const client = createClient(v2.MessagingService, broker.endpoints.grpc);
    try {
      const open = await adminClient.listTransactions({ topic: 'TxTopic' }, { deadlineMs: 5_000 });
      expect(open.transactions.map((t) => [t.messageId, t.transactionId])).toEqual([['TX-LOG-ONLY', transactionId]]);
      const end = await client.endTransaction({ topic: { name: 'TxTopic' }, messageId: 'TX-LOG-ONLY', transactionId, resolution: v2.TransactionResolution.COMMIT });
      expect(end.status?.code).toBe(v2.Code.OK);

      const pulled = async (topic: string) => {
        const bodies: { body: string; storeMs: number; dueMs?: number }[] = [];
        for (let queueId = 0; queueId < 2; queueId++) {
          const request = { group: { name: 'g' }, messageQueue: { topic: { name: topic }, id: queueId }, offset: 0n, batchSize: 32, filterExpression: { type: v2.FilterType.TAG, expression: '*' } };
          for await (const reply of client.pullMessage(request, { deadlineMs: 5_000 })) {
            if (reply.content.case !== 'message') continue;
            const system = reply.content.value.systemProperties!;
            const ms = (t: { seconds: bigint; nanos: number } | undefined) => (t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : undefined);
            bodies.push({ body: reply.content.value.body.toString(), storeMs: ms(system.storeTimestamp)!, dueMs: ms(system.deliveryTimestamp) });
          }
        }
        return bodies;
      };
      expect((await pulled('TxTopic')).map((m) => m.body)).toEqual(['open']);
      const delivered = await eventually(async () => {
        const found = await pulled('LaterTopic');
        expect(found.map((m) => m.body).sort()).toEqual(['early', 'later-1', 'later-2']);
        return found;
      }, { timeoutMs: 20_000 });
      for (const message of delivered) expect(message.storeMs).toBeGreaterThanOrEqual(message.dueMs!);
      // Nothing is pending any more (the recalled one stays recalled) and none came twice.
      await eventually(async () => {
        const metrics = await scrapeMetrics(broker);
        expect(metrics).toMatch(/^rocketmq_timer_pending_messages\{where="all"[^}]*\} 0$/m);
      });
      expect((await pulled('LaterTopic')).length).toBe(3);
    } finally {
      adminClient.close();
      client.close();
      await broker.kill('SIGTERM');
      copy.remove();
    }
  }, 90_000);
});
