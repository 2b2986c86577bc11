// Transactional messages with the official client: a half message is invisible until COMMIT,
// ROLLBACK discards it, and a producer that never ends its transaction is asked through its
// Telemetry stream: what its checker answers is what happens. Open transactions survive a SIGKILL.
import { SimpleConsumer } from 'rocketmq-client-nodejs';
import { namesrv } from '@rmq/contracts';
import { eventually, quietClientLogger, startOfficialCheckedProducer } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

const TX_TOPICS = ['TxTopic', 'TxOrphanTopic', 'TxKillTopic'];

describe('transactional messages with the official client', () => {
  const checked: string[] = [];
  const local = useLocalCluster({
    brokerArgs: ['--transaction-check-after-ms', '1000', '--transaction-check-interval-max-ms', '1000', '--transaction-checks-max', '3'],
    topics: TX_TOPICS,
    topicOptions: { queueCount: 2, messageType: namesrv.TopicMessageType.TRANSACTION },
    producer: (endpoint) => startOfficialCheckedProducer(endpoint, TX_TOPICS, (message) => checked.push(message.messageId)),
  });

  /** Bodies received by a fresh group, once `expected` arrived and nothing more came for `quietMs`. */
  async function bodies(topic: string, expected: number, timeoutMs: number, quietMs = 1_500): Promise<string[]> {
    const consumer = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: `group-${topic}`, subscriptions: new Map([[topic, '*']]), awaitDuration: 500, logger: quietClientLogger });
    await consumer.startup();
    const received: string[] = [];
    const deadline = Date.now() + timeoutMs;
    let reachedMs: number | undefined;
    try {
      while (Date.now() < deadline && (reachedMs === undefined || Date.now() - reachedMs < quietMs)) {
        for (const message of await consumer.receive(16, 30_000)) {
          received.push(message.body.toString());
          await consumer.ack(message);
        }
        if (reachedMs === undefined && received.length >= expected) reachedMs = Date.now();
      }
    } finally {
      await consumer.shutdown();
    }
    return received.sort();
  }

  async function sendInTransaction(topic: string, body: string, answer?: string) {
    const transaction = local.producer.beginTransaction();
    const receipt = await local.producer.send({ topic, body: Buffer.from(body), properties: new Map(answer ? [['answer', answer]] : []) }, transaction);
    expect(receipt.transactionId).not.toBe('');
    return { transaction, receipt };
  }

  it('delivers a committed message and never a rolled-back one', async () => {
    const committed = await sendInTransaction('TxTopic', 'committed');
    const rolledBack = await sendInTransaction('TxTopic', 'rolled back');
    await committed.transaction.commit();
    await rolledBack.transaction.rollback();
    expect(await bodies('TxTopic', 1, 15_000)).toEqual(['committed']);
  }, 30_000);

  it('asks the producer about a transaction it never ended, and does what its checker answers; one left unknown is rolled back after the last check', async () => {
    const commit = await sendInTransaction('TxOrphanTopic', 'checked commit', 'commit');
    const rollback = await sendInTransaction('TxOrphanTopic', 'checked rollback', 'rollback');
    const unknown = await sendInTransaction('TxOrphanTopic', 'checked unknown', 'unknown');
    await eventually(() => {
      expect(checked).toEqual(expect.arrayContaining([commit.receipt.messageId, rollback.receipt.messageId]));
      expect(checked.filter((id) => id === unknown.receipt.messageId)).toHaveLength(3);
    }, { timeoutMs: 20_000 });
    expect(await bodies('TxOrphanTopic', 1, 15_000, 3_000)).toEqual(['checked commit']);
  }, 45_000);

  it('keeps an open transaction across a SIGKILL: the restarted broker checks it and commits it once', async () => {
    const before = await sendInTransaction('TxKillTopic', 'committed before the kill');
    await before.transaction.commit();
    const open = await sendInTransaction('TxKillTopic', 'open across the kill', 'commit');
    await local.cluster.restartBroker('SIGKILL');
    await eventually(() => expect(checked).toContain(open.receipt.messageId), { timeoutMs: 30_000 });
    expect(await bodies('TxKillTopic', 2, 15_000)).toEqual(['committed before the kill', 'open across the kill']);
  }, 60_000);
});
