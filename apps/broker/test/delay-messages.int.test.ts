// Delay messages with the official client: a message sent with a delay becomes visible at its
// delivery time, never before, in time order; a recalled one never arrives; a SIGKILL between
// send and delivery loses none and delivers none twice.
import { SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { createClient, namesrv, v2 } from '@rmq/contracts';
import { decodeRecallHandle, encodeRecallHandle } from '@rmq/messaging';
import { eventually, quietClientLogger, startOfficialProducer } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

interface Arrival {
  message: MessageView;
  arrivedMs: number;
}

describe('delay messages with the official client', () => {
  const local = useLocalCluster({ topics: ['DelayTopic', 'DelayKillTopic', 'DelayRecallTopic'], topicOptions: { queueCount: 4, messageType: namesrv.TopicMessageType.DELAY }, producer: true });

  /** Receives (and acks) until `count` messages arrived and then `quietMs` pass without another. */
  async function receiveUntil(topic: string, count: number, deadlineMs: number, quietMs = 1_500): Promise<Arrival[]> {
    const consumer = new SimpleConsumer({ endpoints: local.cluster.endpoint, namespace: '', consumerGroup: `group-${topic}`, subscriptions: new Map([[topic, '*']]), awaitDuration: 500, logger: quietClientLogger });
    await consumer.startup();
    const arrivals: Arrival[] = [];
    let countReachedMs: number | undefined;
    try {
      while (Date.now() < deadlineMs && (countReachedMs === undefined || Date.now() - countReachedMs < quietMs)) {
        for (const message of await consumer.receive(16, 30_000)) {
          arrivals.push({ message, arrivedMs: Date.now() });
          await consumer.ack(message);
        }
        if (countReachedMs === undefined && arrivals.length >= count) countReachedMs = Date.now();
      }
    } finally {
      await consumer.shutdown();
    }
    return arrivals;
  }

  it('delivers each message at or after its delivery time, in the order of those times; a recalled one never arrives', async () => {
    const delaysMs = [2_500, 800, 1_600, 1, 3_200]; // the client sends no delivery time for a delay of 0
    const receipts = [];
    for (const [i, delayMs] of delaysMs.entries()) {
      receipts.push(await local.producer.send({ topic: 'DelayTopic', tag: 'd', body: Buffer.from(`delay ${delayMs}`), delay: delayMs, properties: new Map([['i', String(i)]]) }));
    }
    const recalled = await local.producer.send({ topic: 'DelayTopic', body: Buffer.from('recalled'), delay: 2_000 });
    expect(recalled.recallHandle).not.toBe('');
    expect((await local.producer.recallMessage('DelayTopic', recalled.recallHandle)).messageId).toBe(recalled.messageId);

    const arrivals = await receiveUntil('DelayTopic', delaysMs.length, Date.now() + 20_000);
    expect(arrivals.map((a) => a.message.body.toString()).sort()).toEqual(delaysMs.map((d) => `delay ${d}`).sort());
    for (const { message, arrivedMs } of arrivals) {
      expect(message.deliveryTimestamp).toBeDefined();
      expect(arrivedMs).toBeGreaterThanOrEqual(message.deliveryTimestamp!.getTime());
    }
    const dueOrder = arrivals.map((a) => a.message.deliveryTimestamp!.getTime());
    expect(dueOrder).toEqual([...dueOrder].sort((a, b) => a - b));
    // Delivered already: recalling it is refused with a clear reason.
    await expect(local.producer.recallMessage('DelayTopic', receipts[3].recallHandle)).rejects.toThrow(/already delivered/);
    await expect(local.producer.recallMessage('DelayTopic', 'not-a-handle')).rejects.toThrow(/recall handle is not valid/);
  }, 40_000);

  it('recalls through the name server, the access point users configure; a bad handle or an unknown group gets a clear status', async () => {
    const nameServer = local.cluster.nameServer.endpoints.grpc;
    const routes = createClient(v2.MessagingService, nameServer);
    try {
      await eventually(async () => expect((await routes.queryRoute({ topic: { name: 'DelayRecallTopic' } }, { deadlineMs: 2_000 })).status?.code).toBe(v2.Code.OK), { timeoutMs: 10_000 });
    } finally {
      routes.close();
    }
    const viaNameServer = await startOfficialProducer(nameServer); // the client sends RecallMessage to its access point
    try {
      const recalled = await viaNameServer.send({ topic: 'DelayRecallTopic', body: Buffer.from('recalled'), delay: 1_500 });
      const kept = await viaNameServer.send({ topic: 'DelayRecallTopic', body: Buffer.from('kept'), delay: 1_500 });
      expect(decodeRecallHandle(recalled.recallHandle).brokerName).toBe('broker-a');
      expect((await viaNameServer.recallMessage('DelayRecallTopic', recalled.recallHandle)).messageId).toBe(recalled.messageId);
      const arrivals = await receiveUntil('DelayRecallTopic', 1, Date.now() + 15_000);
      expect(arrivals.map((a) => a.message.body.toString())).toEqual(['kept']);

      await expect(viaNameServer.recallMessage('DelayRecallTopic', 'not-a-handle'))
        .rejects.toThrow(`Failed to recall message: recall handle is not valid: it is not a handle this cluster issued (use the recall handle returned when the delay message was sent) (code: ${v2.Code.BAD_REQUEST})`);
      const elsewhere = encodeRecallHandle({ ...decodeRecallHandle(kept.recallHandle), brokerName: 'broker-elsewhere' });
      await expect(viaNameServer.recallMessage('DelayRecallTopic', elsewhere))
        .rejects.toThrow(`Failed to recall message: broker group broker-elsewhere named by the recall handle is not known to this name server: no broker of it has registered (code: ${v2.Code.NOT_FOUND})`);
      // Delivered already: the broker's answer comes back through the name server.
      await expect(viaNameServer.recallMessage('DelayRecallTopic', kept.recallHandle)).rejects.toThrow(new RegExp(`already delivered.*\\(code: ${v2.Code.PRECONDITION_FAILED}\\)`));
    } finally {
      await viaNameServer.shutdown();
    }
  }, 40_000);

  it('refuses a delivery time beyond --timer-delay-max-ms with ILLEGAL_DELIVERY_TIME', async () => {
    await expect(local.producer.send({ topic: 'DelayTopic', body: Buffer.from('too late'), delay: 4 * 24 * 60 * 60 * 1000 })).rejects.toThrow(/the limit is 259200000 ms/);
  });

  it('after a SIGKILL delivers every pending message once and none early; a recall made before the kill holds', async () => {
    const delaysMs = [1_500, 3_000, 4_500];
    const sent = [];
    for (const delayMs of delaysMs) sent.push(await local.producer.send({ topic: 'DelayKillTopic', body: Buffer.from(`kill ${delayMs}`), delay: delayMs }));
    const recalled = await local.producer.send({ topic: 'DelayKillTopic', body: Buffer.from('kill recalled'), delay: 2_000 });
    await local.producer.recallMessage('DelayKillTopic', recalled.recallHandle);
    await local.cluster.restartBroker('SIGKILL');
    const arrivals = await receiveUntil('DelayKillTopic', delaysMs.length, Date.now() + 25_000, 2_000);
    expect(arrivals.map((a) => a.message.messageId).sort()).toEqual(sent.map((s) => s.messageId).sort());
    for (const { message, arrivedMs } of arrivals) expect(arrivedMs).toBeGreaterThanOrEqual(message.deliveryTimestamp!.getTime());
  }, 60_000);
});
