// A replica taking over delay and transactional messages: a master and a slave copying its log
// (real processes, found through the name server); delay messages and open transactions on the
// master, which is SIGKILLed; the slave is made master by hand (AdminService.SetBrokerRole, what
// `rmq broker role master` calls). Every pending delay message is then delivered once, at or
// after its time; a recalled one never (recalled through the name server, before the kill and
// after the promotion); the open transactions are checked back with the
// producer and end as its checker says. Read back by pulling the new master's queues, so a
// duplicate or an early delivery in the log is seen, not hidden by a consumer group.
import type { Producer } from 'rocketmq-client-nodejs';
import { admin, createClient, namesrv, v2 } from '@rmq/contracts';
import { eventually, killAllApps, shutdownOfficialClient, startFailoverGroup, startOfficialCheckedProducer, type FailoverGroup, scrapeMetrics } from '@rmq/testing';

const DELAY_TOPIC = 'TakeoverDelay';
const TX_TOPIC = 'TakeoverTx';
const QUEUE_COUNT = 2;
/** The master would check open transactions this long after their send: after the kill, by plan. */
const CHECK_AFTER_MS = 12_000;

interface Pulled {
  messageId: string;
  body: string;
  storeMs: number;
  dueMs?: number;
}

const toMs = (t: { seconds: bigint; nanos: number } | undefined) => (t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : undefined);

/** Every message in the queues of `topic` on the broker at `endpoint`, from offset 0 (duplicates included). */
async function pullAll(endpoint: string, topic: string): Promise<Pulled[]> {
  const client = createClient(v2.MessagingService, endpoint);
  const found: Pulled[] = [];
  try {
    for (let queueId = 0; queueId < QUEUE_COUNT; queueId++) {
      for (let offset = 0n, round = 0; round < 100; round++) {
        let next = offset;
        const request = { group: { name: 'audit' }, messageQueue: { topic: { name: topic }, id: queueId }, offset, batchSize: 256, filterExpression: { type: v2.FilterType.TAG, expression: '*' } };
        for await (const reply of client.pullMessage(request, { deadlineMs: 5_000 })) {
          if (reply.content.case === 'nextOffset') next = reply.content.value;
          if (reply.content.case !== 'message') continue;
          const system = reply.content.value.systemProperties!;
          found.push({ messageId: system.messageId, body: reply.content.value.body.toString(), storeMs: toMs(system.storeTimestamp)!, dueMs: toMs(system.deliveryTimestamp) });
        }
        if (next === offset) break;
        offset = next;
      }
    }
  } finally {
    client.close();
  }
  return found;
}

describe('a replica taking over delivers every pending delay message and ends every open transaction', () => {
  let group: FailoverGroup;
  let producer: Producer;
  const checked: { messageId: string; atMs: number }[] = [];

  beforeAll(async () => {
    group = await startFailoverGroup(2, ['--transaction-check-after-ms', String(CHECK_AFTER_MS), '--transaction-check-interval-max-ms', '1000']);
    await group.createTopic(DELAY_TOPIC, { queueCount: QUEUE_COUNT, messageType: namesrv.TopicMessageType.DELAY });
    await group.createTopic(TX_TOPIC, { queueCount: QUEUE_COUNT, messageType: namesrv.TopicMessageType.TRANSACTION });
    producer = await startOfficialCheckedProducer(group.nameServer.endpoints.grpc, [DELAY_TOPIC, TX_TOPIC], (message) => checked.push({ messageId: message.messageId, atMs: Date.now() }));
  }, 60_000);

  afterAll(async () => {
    await shutdownOfficialClient(producer);
    await group?.stop();
    await killAllApps();
  });

  it('after a SIGKILL of the master and a manual promotion of its slave', async () => {
    const startMs = Date.now();
    const send = (body: string, dueMs: number) => producer.send({ topic: DELAY_TOPIC, body: Buffer.from(body), deliveryTimestamp: new Date(dueMs) });
    // Due before the kill (the master delivers them), while it dies (a stream every 25 ms, killed in
    // the middle: some deliveries reach the slave, some not), and after the promotion.
    const early = await Promise.all(Array.from({ length: 10 }, (_, i) => send(`early-${i}`, startMs + 1_500)));
    const around = await Promise.all(Array.from({ length: 80 }, (_, i) => send(`around-${i}`, startMs + 2_500 + i * 25)));
    const later = await Promise.all(Array.from({ length: 40 }, (_, i) => send(`later-${i}`, startMs + 9_000 + (i % 20) * 100)));
    const recalled = await send('recalled', startMs + 9_500);
    // Recalled after the takeover, so due well after it (a recall that fails lets it arrive, and the count below sees it).
    const recalledLater = await send('recalled after the takeover', startMs + 25_000);
    // The Node client asks its access point, the name server, which sends the recall on to the group's master.
    expect((await producer.recallMessage(DELAY_TOPIC, recalled.recallHandle)).messageId).toBe(recalled.messageId);

    const inTransaction = async (body: string, answer: string) => {
      const transaction = producer.beginTransaction();
      const receipt = await producer.send({ topic: TX_TOPIC, body: Buffer.from(body), properties: new Map([['answer', answer]]) }, transaction);
      return { transaction, receipt };
    };
    const committedBefore = await inTransaction('committed before the kill', 'rollback');
    await committedBefore.transaction.commit();
    const rolledBackBefore = await inTransaction('rolled back before the kill', 'commit');
    await rolledBackBefore.transaction.rollback();
    const openCommit = await Promise.all([0, 1, 2].map((i) => inTransaction(`open, checker commits ${i}`, 'commit')));
    const openRollback = await Promise.all([0, 1, 2].map((i) => inTransaction(`open, checker rolls back ${i}`, 'rollback')));

    // The master dies while it delivers the stream: once it has delivered a quarter of it.
    await eventually(async () => expect((await pullAll(group.endpoints[0], DELAY_TOPIC)).length).toBeGreaterThanOrEqual(early.length + around.length / 4), { timeoutMs: 15_000, intervalMs: 20 });
    await group.replicas[0]!.kill('SIGKILL');
    const killedMs = Date.now();
    let onSlaveAtKill = 0;
    expect(checked).toEqual([]); // the master asked nothing: the open transactions are the new master's to check
    const adminClient = createClient(admin.AdminService, group.endpoints[1]);
    try {
      const copied = await adminClient.getTopic({ name: DELAY_TOPIC }, { deadlineMs: 5_000 });
      onSlaveAtKill = copied.queues.reduce((sum, queue) => sum + Number(queue.maxOffset), 0);
      const promoted = await adminClient.setBrokerRole({ role: namesrv.BrokerRole.MASTER, epoch: 2n }, { deadlineMs: 10_000 });
      expect([promoted.role, promoted.epoch]).toEqual([namesrv.BrokerRole.MASTER, 2n]);
      const open = await adminClient.listTransactions({ topic: TX_TOPIC }, { deadlineMs: 5_000 });
      expect(open.transactions.map((t) => t.messageId).sort()).toEqual([...openCommit, ...openRollback].map((t) => t.receipt.messageId).sort());
    } finally {
      adminClient.close();
    }
    const tail = group.replicas[1]!.logs.find((line) => String(line.msg).startsWith('the copied log tail'));
    process.stdout.write(`takeover: kill ${killedMs - startMs} ms after the first send, new master serving ${Date.now() - killedMs} ms after the kill; copied tail: ${tail ? `${String(tail.msg)} ${JSON.stringify(tail)}` : 'all readable at once'}\n`);
    // The same way after the master changed: the handle names the group, not the broker that took the send.
    expect((await producer.recallMessage(DELAY_TOPIC, recalledLater.recallHandle)).messageId).toBe(recalledLater.messageId);

    // Every delay message is in its topic once, none early, the recalled one never; nothing stays pending.
    const newMaster = group.endpoints[1];
    await eventually(async () => {
      const text = await scrapeMetrics(group.replicas[1]!);
      expect(text).toMatch(/^rocketmq_timer_pending_messages\{where="all"[^}]*\} 0$/m);
      expect((await pullAll(newMaster, DELAY_TOPIC)).length).toBeGreaterThanOrEqual(early.length + around.length + later.length);
    }, { timeoutMs: 30_000 });
    const delivered = await pullAll(newMaster, DELAY_TOPIC);
    expect(delivered.map((m) => m.messageId).sort()).toEqual([...early, ...around, ...later].map((r) => r.messageId).sort());
    for (const message of delivered) expect(message.storeMs).toBeGreaterThanOrEqual(message.dueMs!);
    process.stdout.write(`delay messages: ${delivered.length} delivered once each; ${onSlaveAtKill} were in the slave's copy when it took over\n`);
    expect(delivered.filter((m) => m.body.startsWith('later')).every((m) => m.storeMs >= killedMs)).toBe(true);

    // Each open transaction is checked by the new master and ends as the checker says.
    await eventually(async () => {
      expect(new Set(checked.map((c) => c.messageId))).toEqual(new Set([...openCommit, ...openRollback].map((t) => t.receipt.messageId)));
      expect(await group.metric(1, 'rocketmq_transaction_open_messages')).toBe(0);
    }, { timeoutMs: 30_000 });
    expect(checked.every((c) => c.atMs >= killedMs)).toBe(true);
    const committed = await pullAll(newMaster, TX_TOPIC);
    expect(committed.map((m) => m.body).sort()).toEqual(['committed before the kill', ...openCommit.map((_, i) => `open, checker commits ${i}`)].sort());
    expect(await group.metric(1, 'rocketmq_transaction_ends_total', { topic: TX_TOPIC, outcome: 'commit' })).toBe(3);
    expect(await group.metric(1, 'rocketmq_transaction_ends_total', { topic: TX_TOPIC, outcome: 'rollback' })).toBe(3);
  }, 120_000);
});
