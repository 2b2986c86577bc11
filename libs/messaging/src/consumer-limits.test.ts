// Limits of consumption a runaway client meets: a receive's byte budget, a cancelled receive that
// keeps nothing, SimpleConsumers' least invisible duration (push consumers exempt).
import { makeTempDir } from '@rmq/testing';
import type { MessageStore } from '@rmq/store';
import { ConsumerService } from './consumer-service';
import { ProducerService } from './producer-service';
import { parseTagExpression } from './tag-filter';
import { MESSAGING_LIMITS } from './limits';
import { openStateFixture, type StateFixture } from '../test/state-fixture';

describe('ConsumerService limits', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  let fixture: StateFixture;
  let consumer: ConsumerService;
  let nowMs = 1_000_000;
  const clock = { nowMs: () => nowMs };

  beforeEach(async () => {
    temp = makeTempDir('consumer-limits');
    fixture = await openStateFixture(temp.path, { clock });
    store = fixture.store;
    const topics = fixture.topics;
    await topics.create('T', { queueCount: 4 });
    consumer = new ConsumerService({ store, topics, groups: fixture.groups, progress: fixture.progress, clock, secret: fixture.secret, simpleInvisibleMsMin: 10_000 });
    const producer = new ProducerService(store, topics);
    // 4 queues x 6 messages of 1 MiB: 24 MiB in all, three times a receive's budget.
    await producer.send(Array.from({ length: 24 }, (_, i) => ({
      topic: 'T', body: Buffer.alloc(1024 * 1024, i), messageId: `id-${i}`, messageType: 'NORMAL' as const, keys: [], bornTimestampMs: 0, bornHost: 'h', userProperties: new Map(),
    })));
  });

  afterEach(async () => {
    consumer.close();
    await fixture.close();
    temp.remove();
  });

  const receive = (options: { countMax?: number; invisibleMs?: number; signal?: AbortSignal; push?: boolean } = {}) =>
    consumer.receive({ group: 'g', topic: 'T', filter: parseTagExpression('*'), countMax: options.countMax ?? 1024, invisibleMs: options.invisibleMs ?? 30_000, longPollingMs: 0, signal: options.signal, push: options.push });
  const bytesOf = (deliveries: { record: { sizeBytes: number } }[]) => deliveries.reduce((sum, d) => sum + d.record.sizeBytes, 0);

  it('gathers at most the byte budget per receive, new and redelivered messages alike, and loses none', async () => {
    const budget = MESSAGING_LIMITS.receiveBytesMax;
    const first = await receive();
    expect(first.length).toBeGreaterThan(0);
    expect(bytesOf(first)).toBeLessThanOrEqual(budget + 1024 * 1024 + 4096); // the last record may cross it
    expect(first.length).toBeLessThan(24);
    const ids = new Set<string>();
    let batch = first;
    while (batch.length > 0) {
      for (const delivery of batch) ids.add(delivery.record.properties.get('__MSGID') ?? String(delivery.record.logOffset));
      batch = await receive();
    }
    expect(ids.size).toBe(24);
    // All of them come back after their invisible time, again within the budget per receive.
    nowMs += 31_000;
    const again = await receive();
    expect(again.every((delivery) => delivery.deliveryAttempt === 2)).toBe(true);
    expect(bytesOf(again)).toBeLessThanOrEqual(budget + 1024 * 1024 + 4096);
    expect(again.length).toBeLessThan(24);
  });

  it('claims nothing for a receive cancelled before it ran, and gives back at once what a receive cancelled mid-way claimed', async () => {
    const cancelled = new AbortController();
    cancelled.abort();
    expect(await receive({ signal: cancelled.signal })).toEqual([]);

    // Cancelled once the store has answered a read: the records read are claimed by then.
    const midway = new AbortController();
    const read = store.read.bind(store);
    const spy = jest.spyOn(store, 'read').mockImplementation(async (...args) => {
      const result = await read(...args);
      midway.abort();
      return result;
    });
    expect(await receive({ countMax: 8, signal: midway.signal })).toEqual([]);
    spy.mockRestore();
    // Nothing stays invisible: at the same instant, later receives get all 24 messages, each as a first delivery.
    const attempts: number[] = [];
    for (let batch = await receive(); batch.length > 0; batch = await receive()) attempts.push(...batch.map((d) => d.deliveryAttempt));
    expect(attempts).toEqual(Array.from({ length: 24 }, () => 1));
  });

  it('refuses a SimpleConsumer invisible duration under the minimum, on receive and on change, and lets a push consumer nack at once', async () => {
    await expect(receive({ invisibleMs: 1_000 })).rejects.toMatchObject({ code: 'ILLEGAL_INVISIBLE_TIME', message: expect.stringContaining('[10000,') });
    const [simple] = await receive({ countMax: 1 });
    await expect(consumer.changeInvisibleDuration('g', 'T', simple.receiptHandle, 0)).rejects.toThrow(/out of range \[10000,/);
    // Over the maximum, a SimpleConsumer is told its own range, not a push consumer's.
    await expect(consumer.changeInvisibleDuration('g', 'T', simple.receiptHandle, 2 * 86_400_000)).rejects.toThrow(/out of range \[10000, 43200000\]/);
    await expect(receive({ invisibleMs: 2 * 86_400_000 })).rejects.toThrow(/out of range \[10000, 43200000\]/);
    expect(await consumer.changeInvisibleDuration('g', 'T', simple.receiptHandle, 10_000)).toEqual(expect.any(String));
    const [push] = await receive({ countMax: 1, invisibleMs: 60_000, push: true });
    expect(await consumer.changeInvisibleDuration('g', 'T', push.receiptHandle, 0)).toEqual(expect.any(String));
  });
});
