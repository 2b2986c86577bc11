// The path an official client (rocketmq-client-nodejs, unchanged) takes through a broker group of
// a master and a slave, with the name server as its access point as the README says: routes list
// the slave as a queue-0 entry, the slave forwards what the master serves, and after the master
// dies the client's next sends succeed without a restart. The promotion is a stand-in until the
// controller drives roles: AdminService.SetBrokerRole (`rmq broker role master --epoch 2`) on the
// slave, in place. No log shipping here: the test is about the client's path, not about what the
// new master holds.
import { ConsumeResult, PushConsumer, SimpleConsumer, type MessageView, type Producer } from 'rocketmq-client-nodejs';
import { admin, createClient, namesrv, v2 } from '@rmq/contracts';
import { eventually, killAllApps, quietClientLogger, shutdownOfficialClient, startOfficialProducer, startFailoverGroup, type FailoverGroup } from '@rmq/testing';

const TOPIC = 'FailoverTopic';
const HOLD_MS = 2_000;
const CLIENT_TIMEOUT_MS = 3_000;

function simpleConsumer(endpoint: string, group: string): SimpleConsumer {
  return new SimpleConsumer({ endpoints: endpoint, namespace: '', consumerGroup: group, subscriptions: new Map([[TOPIC, '*']]), awaitDuration: 2_000, logger: quietClientLogger });
}

const forwarded = (group: FailoverGroup, brokerId: number, method: string, outcome = 'forwarded') =>
  group.metric(brokerId, 'rmq_broker_forwarded_requests_total', { method, outcome });

describe('failover path of the official client (master + slave, name server as access point)', () => {
  let group: FailoverGroup;
  let producer: Producer;
  let accessPoint: string;

  beforeAll(async () => {
    // No log shipping here, so a promoted slave has not copied the topic: it creates it on first use.
    group = await startFailoverGroup(2, ['--forward-hold-ms', String(HOLD_MS), '--push-long-polling-ms', '2000', '--auto-create-topics', '--default-queue-count', '4']);
    await group.createTopic(TOPIC);
    accessPoint = group.nameServer.endpoints.grpc;
    producer = await startOfficialProducer(accessPoint);
  }, 60_000);

  afterAll(async () => {
    await shutdownOfficialClient(producer);
    await group?.stop();
    await killAllApps();
  });

  it('routes the master of epoch 1 and its slave, the slave first', async () => {
    expect(await group.routed(TOPIC)).toEqual([[0, 'master', 1], [1, 'slave', 1]]);
    const messaging = createClient(v2.MessagingService, accessPoint);
    try {
      const reply = await messaging.queryRoute({ topic: { name: TOPIC } }, { deadlineMs: 5_000 });
      const entries = reply.messageQueues.map((q) => [q.broker?.id, `${q.broker?.endpoints?.addresses[0]?.host}:${q.broker?.endpoints?.addresses[0]?.port}`, q.id]);
      expect(entries).toEqual([[1, group.endpoints[1], 0], ...[0, 1, 2, 3].map((id) => [0, group.endpoints[0], id])]);
    } finally {
      messaging.close();
    }
  });

  it('sends and receives through the name server, about half of them through the slave (the extra hop, measured)', async () => {
    const count = 60;
    const sent = new Set<string>();
    for (let i = 0; i < count; i++) sent.add((await producer.send({ topic: TOPIC, body: Buffer.from(`steady-${i}`) })).messageId);
    const forwardedSends = await forwarded(group, 1, 'sendMessage');
    const storedByMaster = await group.metric(0, 'rocketmq_rpc_latency_count', { request_code: 'SendMessage', response_code: 'OK' });
    expect(storedByMaster).toBe(count);
    // The producer's round robin alternates between the two queue-0 entries of broker-a.
    process.stdout.write(`extra-hop share of sends in steady state: ${forwardedSends}/${count} = ${(forwardedSends / count).toFixed(2)}\n`);
    expect(Math.abs(forwardedSends - count / 2)).toBeLessThanOrEqual(1);

    const consumer = simpleConsumer(accessPoint, 'steady-group');
    await consumer.startup();
    try {
      const received: MessageView[] = [];
      await eventually(async () => {
        for (const message of await consumer.receive(16, 30_000)) {
          received.push(message);
          await consumer.ack(message);
        }
        expect(received.length).toBeGreaterThanOrEqual(count);
      }, { timeoutMs: 60_000, intervalMs: 1 });
      expect(new Set(received.map((m) => m.messageId))).toEqual(sent);
      expect(received).toHaveLength(count);
    } finally {
      await consumer.shutdown();
    }
    const receives = await forwarded(group, 1, 'receiveMessage');
    const acks = await forwarded(group, 1, 'ackMessage');
    process.stdout.write(`through the slave: ${receives} receives, ${acks} acks\n`);
    expect(receives).toBeGreaterThan(0);
    expect(acks).toBeGreaterThan(0);
  }, 90_000);

  it('acks through the slave a receipt handle the master issued', async () => {
    await producer.send({ topic: TOPIC, body: Buffer.from('handle') });
    const master = createClient(v2.MessagingService, group.endpoints[0]);
    const slave = createClient(v2.MessagingService, group.endpoints[1]);
    try {
      const frames: v2.ReceiveMessageResponse[] = [];
      const request = { group: { name: 'handle-group' }, messageQueue: { topic: { name: TOPIC }, id: 0 }, batchSize: 1, invisibleDuration: { seconds: 30n }, longPollingTimeout: { seconds: 2n } };
      for await (const frame of master.receiveMessage(request, { deadlineMs: 10_000 })) frames.push(frame as v2.ReceiveMessageResponse);
      const message = frames.flatMap((f) => (f.content.case === 'message' ? [f.content.value] : []))[0];
      expect(message?.systemProperties?.receiptHandle).toBeTruthy();
      const ack = await slave.ackMessage({ group: { name: 'handle-group' }, topic: { name: TOPIC }, entries: [{ messageId: message.systemProperties!.messageId, receiptHandle: message.systemProperties!.receiptHandle }] }, { deadlineMs: 5_000 });
      expect(ack.status?.code).toBe(v2.Code.OK);
      const again = await slave.ackMessage({ group: { name: 'handle-group' }, topic: { name: TOPIC }, entries: [{ messageId: 'x', receiptHandle: 'forged.handle' }] }, { deadlineMs: 5_000 });
      expect(again.status?.code).toBe(v2.Code.INVALID_RECEIPT_HANDLE); // the master's verdict, passed through
    } finally {
      master.close();
      slave.close();
    }
  });

  it('after the master dies, the same client sends again within 3 s of a new master, and push consumers resume', async () => {
    const consumed = new Set<string>();
    const push = new PushConsumer({
      endpoints: accessPoint, namespace: '', consumerGroup: 'failover-push', subscriptions: new Map([[TOPIC, '*']]), logger: quietClientLogger,
      messageListener: { consume: (message: MessageView) => { consumed.add(message.body.toString()); return ConsumeResult.SUCCESS; } },
    });
    await push.startup();
    try {
      await eventually(async () => {
        await producer.send({ topic: TOPIC, body: Buffer.from('push-before') });
        expect(consumed.has('push-before')).toBe(true);
      }, { timeoutMs: 30_000, intervalMs: 500 });

      const killedAtMs = Date.now();
      await group.replicas[0]!.kill('SIGKILL');
      // Sends issued after the kill, one at a time, as an application would; each is one client send (3 attempts).
      let firstAckMs: number | undefined;
      let failures = 0;
      const sending = (async () => {
        while (firstAckMs === undefined && Date.now() - killedAtMs < 30_000) {
          try {
            await producer.send({ topic: TOPIC, body: Buffer.from('after-kill') });
            firstAckMs = Date.now();
          } catch {
            failures += 1;
          }
        }
      })();
      // Stand-in promotion, in place: the slave becomes master of epoch 2; the old master rejoins later as its slave.
      const adminClient = createClient(admin.AdminService, group.endpoints[1]);
      try {
        const promoted = await adminClient.setBrokerRole({ role: namesrv.BrokerRole.MASTER, epoch: 2n }, { deadlineMs: 5_000 });
        expect([promoted.role, promoted.epoch, promoted.masterEndpoint]).toEqual([namesrv.BrokerRole.MASTER, 2n, group.endpoints[1]]);
      } finally {
        adminClient.close();
      }
      const promotedAtMs = Date.now();
      await sending;
      expect(firstAckMs).toBeDefined();
      process.stdout.write(`kill -> first ack ${firstAckMs! - killedAtMs} ms (promotion ready after ${promotedAtMs - killedAtMs} ms; ${failures} failed sends)\n`);
      expect(firstAckMs! - promotedAtMs).toBeLessThan(CLIENT_TIMEOUT_MS);

      await group.start(0, { role: 'slave', epoch: 1 });
      await eventually(async () => expect(await group.routed(TOPIC)).toEqual([[1, 'master', 2], [0, 'slave', 2]]), { timeoutMs: 10_000 });
      // The producer still routes broker 0's address (its route is from before the kill) and, unless its
      // one send after the kill went there, has not isolated it. While broker 0 was down, its grpc-js
      // channel to that address kept reconnecting with exponential backoff (the client renews its telemetry
      // stream every second), and until the next attempt connects the channel fails every call at once with
      // UNAVAILABLE "No connection established"; with one candidate per broker name, all 3 attempts of a send
      // fail there within milliseconds, without reaching any broker. The client reconnects on its own
      // schedule (its producer session reappears on broker 0), so the sends start once it has.
      await eventually(async () => expect(await group.metric(0, 'rocketmq_producer_connections')).toBeGreaterThanOrEqual(1), { timeoutMs: 30_000 });
      const throughReturnedSlave = await forwarded(group, 0, 'sendMessage');
      for (let i = 0; i < 20; i++) await producer.send({ topic: TOPIC, body: Buffer.from(`after-failover-${i}`) });
      process.stdout.write(`after failover: ${(await forwarded(group, 0, 'sendMessage')) - throughReturnedSlave} of 20 sends through the returned slave\n`);

      // The push consumer asks the route's first endpoint (broker 1, now master) for its queues and reads the new master.
      await eventually(() => expect(consumed.has('after-failover-19')).toBe(true), { timeoutMs: 30_000 });
    } finally {
      await shutdownOfficialClient(push);
    }
  }, 120_000);

  it('holds a call while the group has no reachable master, then answers HA_NOT_AVAILABLE before the client times out', async () => {
    // A third replica whose master is an address nobody listens on. (Killing a broker the official
    // clients still talk to is what the failover test above does; a client shut down earlier can
    // throw from a telemetry stream whose listeners it removed, so this test kills nothing.)
    await group.start(2, { role: 'slave', epoch: 2 }, ['--master', '127.0.0.1:1']);
    const slave = createClient(v2.MessagingService, group.endpoints[2]);
    try {
      const startedMs = Date.now();
      const reply = await slave.sendMessage({ messages: [{ topic: { name: TOPIC }, body: Buffer.from('held'), systemProperties: { messageId: 'held-1', bodyEncoding: v2.Encoding.IDENTITY, messageType: v2.MessageType.NORMAL } }] }, { deadlineMs: CLIENT_TIMEOUT_MS });
      const heldMs = Date.now() - startedMs;
      expect(reply.status?.code).toBe(v2.Code.HA_NOT_AVAILABLE);
      expect(reply.status?.message).toContain('broker group broker-a has no reachable master (127.0.0.1:1 unreachable');
      expect(heldMs).toBeGreaterThanOrEqual(HOLD_MS - 100);
      expect(heldMs).toBeLessThan(CLIENT_TIMEOUT_MS);
      expect(await forwarded(group, 2, 'sendMessage', 'no_master')).toBe(1);
    } finally {
      slave.close();
    }
  });

  it('refuses a call another broker forwarded while it is not master, at once (no forwarding loops)', async () => {
    const metadata = new (await import('@grpc/grpc-js')).Metadata();
    metadata.set('x-rmq-forwarded-by', '127.0.0.1:9');
    const slave = createClient(v2.MessagingService, group.endpoints[0]);
    try {
      const startedMs = Date.now();
      const reply = await slave.queryAssignment({ topic: { name: TOPIC }, group: { name: 'g' } }, { deadlineMs: CLIENT_TIMEOUT_MS, metadata });
      expect(reply.status?.code).toBe(v2.Code.HA_NOT_AVAILABLE);
      expect(reply.status?.message).toContain('is a slave in epoch 2');
      expect(Date.now() - startedMs).toBeLessThan(HOLD_MS);
      expect(await group.metric(0, 'rmq_broker_forwarded_requests_refused_total', { method: 'queryAssignment' })).toBe(1);
    } finally {
      slave.close();
    }
  });
});
