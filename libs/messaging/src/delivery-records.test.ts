// A receive answers once its delivery records reached the OS, not once they are durable; acks
// and changes of invisible duration still wait for durability (decisions.md). Held fdatasyncs
// (the store's gatedFileIo) make the order visible. And a handle whose delivery record a machine
// crash took away gets a clear answer, while the message is simply delivered again.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, makeTempDir } from '@rmq/testing';
import { gatedFileIo, MessageStore, type FileIo, type GatedFileIo } from '@rmq/store';
import { ConsumerService } from './consumer-service';
import { openBrokerState } from './broker-state';
import { ProducerService } from './producer-service';
import { parseTagExpression } from './tag-filter';

let nowMs = 1_000_000;
const clock = { nowMs: () => nowMs };

async function openBroker(dataDir: string, fileIo?: FileIo) {
  const store = await MessageStore.open({ dataDir, flushMode: 'sync', fileIo });
  const state = await openBrokerState({
    store, dataDir, clock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 16, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  if (!state.topics.get('T')) await state.topics.create('T', { queueCount: 2 });
  const consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock, secret: () => state.receiptKey.value });
  const send = (count: number) =>
    new ProducerService(store, state.topics).send(Array.from({ length: count }, (_, i) => ({
      topic: 'T', body: Buffer.from(`m${i}`), messageId: `id-${i}`, messageType: 'NORMAL' as const, keys: [], bornTimestampMs: 0, bornHost: 'h', userProperties: new Map(),
    })));
  const receive = () => consumer.receive({ group: 'g', topic: 'T', filter: parseTagExpression('*'), countMax: 32, invisibleMs: 60_000, longPollingMs: 0 });
  const close = async () => {
    consumer.close();
    await state.journal.close();
    await store.close();
  };
  return { store, state, consumer, send, receive, close };
}

describe('delivery records', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('delivery-records')));
  afterEach(() => temp.remove());

  it('a receive answers while its delivery records are not yet durable; an ack waits until they and it are', async () => {
    const io: GatedFileIo = gatedFileIo((path) => path.includes('commitlog'));
    const broker = await openBroker(join(temp.path, 'b'), io);
    try {
      await broker.send(5);
      io.hold();
      const deliveries = await broker.receive();
      expect(deliveries).toHaveLength(5);
      // The group commit that carries the delivery records is still in its fdatasync.
      await eventually(() => expect(io.waiting).toBeGreaterThan(0));
      expect(broker.store.durableLogOffset).toBeLessThan(broker.store.shippableLogOffset);

      let acked = false;
      const ack = broker.consumer.ack('g', 'T', deliveries[0].receiptHandle).then(() => (acked = true));
      let changed = false;
      const change = broker.consumer.changeInvisibleDuration('g', 'T', deliveries[1].receiptHandle, 30_000).then(() => (changed = true));
      // Held fdatasyncs: neither can be durable, so neither has answered (and a receive still can).
      expect(await broker.receive()).toEqual([]);
      expect(acked).toBe(false);
      expect(changed).toBe(false);

      io.release();
      await ack;
      await change;
      for (const delivery of deliveries.slice(2)) await broker.consumer.ack('g', 'T', delivery.receiptHandle);
    } finally {
      io.release();
      await broker.close();
    }
  });

  it('a handle whose delivery record a machine crash lost gets a clear answer, and the message comes again', async () => {
    const dir = join(temp.path, 'b');
    const first = await openBroker(dir);
    await first.send(3);
    await first.close();
    // What the disk holds if the machine crashes before the receive's records are durable: the
    // broker as it was before the receive.
    const beforeReceive = join(temp.path, 'before-receive');
    cpSync(dir, beforeReceive, { recursive: true });
    const second = await openBroker(dir);
    const handed = await second.receive();
    expect(handed).toHaveLength(3);
    await second.close();

    const afterCrash = await openBroker(beforeReceive);
    try {
      const lost = /receipt handle is not valid: this broker has no record of that delivery: it was lost when the broker's machine crashed or its slave took over just after the receive; the message will be delivered again/;
      await expect(afterCrash.consumer.ack('g', 'T', handed[0].receiptHandle)).rejects.toMatchObject({ code: 'INVALID_RECEIPT_HANDLE', message: expect.stringMatching(lost) });
      await expect(afterCrash.consumer.changeInvisibleDuration('g', 'T', handed[1].receiptHandle, 30_000)).rejects.toMatchObject({ code: 'INVALID_RECEIPT_HANDLE', message: expect.stringMatching(lost) });
      // At least once: the same messages come again, as first deliveries, and their new handles ack.
      const again = await afterCrash.receive();
      expect(again.map((delivery) => delivery.record.body.toString()).sort()).toEqual(handed.map((delivery) => delivery.record.body.toString()).sort());
      expect(again.map((delivery) => delivery.deliveryAttempt)).toEqual([1, 1, 1]);
      // The old handle of a message delivered again is stale, as any superseded handle.
      await expect(afterCrash.consumer.ack('g', 'T', handed[2].receiptHandle)).rejects.toThrow(/acknowledged or delivered again since this handle was issued/);
      for (const delivery of again) await afterCrash.consumer.ack('g', 'T', delivery.receiptHandle);
      expect(await afterCrash.receive()).toEqual([]);
    } finally {
      await afterCrash.close();
    }
  });
});
