import { isRmqError, systemClock, type Clock } from '@rmq/base';
import { eventually, makeTempDir } from '@rmq/testing';
import { MessageStore, type StoredRecord } from '@rmq/store';
import { SYSTEM_PROPERTY, type OutgoingMessage } from './message-properties';
import { ProducerService } from './producer-service';
import { TimerService } from './timer-service';
import { decodeRecallHandle, encodeRecallHandle } from './recall-handle';
import { REAL_TOPIC_PROPERTY } from './system-records';
import { markInput, reputInput, TIMER_QUEUE, TIMER_TOPIC } from './timer-records';
import { openBrokerState, type BrokerState } from './broker-state';
import type { TopicRegistry } from './topic-registry';

const QUEUES = 4;

describe('TimerService (delay messages)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  let topics: TopicRegistry;
  let state: BrokerState;
  let timers: TimerService;
  let producer: ProducerService;
  let sequence = 0;

  async function open(clock: Clock = systemClock): Promise<void> {
    store = await MessageStore.open({ dataDir: `${temp.path}/store`, flushMode: 'async' });
    state = await openBrokerState({ store, dataDir: temp.path, clock: systemClock, autoCreateGroups: true, groupDefaults: () => ({ maxAttempts: 3, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }) });
    topics = state.topics;
    await topics.create('D', { queueCount: QUEUES, messageType: 'DELAY' });
    timers = await TimerService.open({
      store, clock, brokerName: 'broker-a', delayMsMax: 60 * 60 * 1000, dir: `${temp.path}/timer`, queueCountOf: (topic) => topics.get(topic)?.queueCount,
      onError: (error) => {
        throw error;
      },
    });
    producer = new ProducerService(store, topics, undefined, { DELAY: timers.stager() });
  }

  async function close(): Promise<void> {
    await timers.close();
    await state.journal.close();
    await store.close();
  }

  beforeEach(async () => {
    temp = makeTempDir('timer');
    await open();
  });

  afterEach(async () => {
    await close();
    temp.remove();
  });

  const message = (delayMs: number, nowMs = Date.now()): OutgoingMessage => ({
    topic: 'D', body: Buffer.from(`after ${delayMs}`), messageId: `id-${sequence++}`, messageType: 'DELAY', keys: [], bornTimestampMs: nowMs,
    bornHost: 'h', userProperties: new Map([['delay', String(delayMs)]]), deliveryTimestampMs: nowMs + delayMs,
  });

  async function delivered(): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    for (let queueId = 0; queueId < QUEUES; queueId++) records.push(...(await store.read('D', queueId, 0, { countMax: 100_000 })).records);
    return records;
  }

  it('makes each delay message visible at or after its delivery time, in time order, never before', async () => {
    const delays = [700, 100, 400, 0, -500, 250, 1_200];
    const nowMs = Date.now();
    await producer.send(delays.map((delayMs) => message(delayMs, nowMs)));
    expect(await delivered()).toEqual([]);
    const records = await eventually(async () => {
      const found = await delivered();
      expect(found).toHaveLength(delays.length);
      return found;
    }, { timeoutMs: 10_000 });
    for (const record of records) {
      const dueMs = Number(record.properties.get(SYSTEM_PROPERTY.deliveryTimestampMs));
      expect(record.storeTimestampMs).toBeGreaterThanOrEqual(dueMs);
      expect(record.properties.get('u.delay')).toBe(String(dueMs - nowMs));
      expect(record.properties.get(REAL_TOPIC_PROPERTY)).toBeUndefined();
    }
    const byVisibility = [...records].sort((a, b) => a.storeTimestampMs - b.storeTimestampMs || a.logOffset - b.logOffset);
    const dues = byVisibility.map((record) => Number(record.properties.get(SYSTEM_PROPERTY.deliveryTimestampMs)));
    expect(dues).toEqual([...dues].sort((a, b) => a - b));
    expect(timers.stats()).toMatchObject({ pending: 0, delivered: delays.length });
  });

  it('recalls a pending message so it never arrives; a delivered one or a made-up handle gets a clear error', async () => {
    const [keep, recall, early, legacy] = await producer.send([message(600), message(600), message(0), message(600)]);
    expect(decodeRecallHandle(recall.recallHandle!).brokerName).toBe('broker-a');
    expect(await timers.recall('D', recall.recallHandle!)).toEqual({ messageId: recall.messageId });
    expect(await timers.recall('D', recall.recallHandle!)).toEqual({ messageId: recall.messageId }); // again: still recalled
    // A handle issued before handles named the group is still honoured; one naming another group is not.
    const { brokerName: _, ...legacyTarget } = decodeRecallHandle(legacy.recallHandle!);
    expect(await timers.recall('D', encodeRecallHandle(legacyTarget))).toEqual({ messageId: legacy.messageId });
    const elsewhere = encodeRecallHandle({ ...decodeRecallHandle(keep.recallHandle!), brokerName: 'broker-b' });
    await expect(timers.recall('D', elsewhere)).rejects.toThrow(/recall handle is not valid: it was issued by broker group broker-b, not by this one \(broker-a\)/);
    await eventually(async () => expect((await delivered()).map((r) => r.properties.get(SYSTEM_PROPERTY.messageId)).sort()).toEqual([early.messageId, keep.messageId].sort()), { timeoutMs: 5_000 });
    await expect(timers.recall('D', early.recallHandle!)).rejects.toThrow(/was already delivered/);
    await expect(timers.recall('D', 'garbage')).rejects.toThrow(/recall handle is not valid: it is not a handle this cluster issued/);
    await expect(timers.recall('Other', keep.recallHandle!)).rejects.toThrow(/it belongs to topic D, not Other/);
    expect(timers.stats()).toMatchObject({ pending: 0, delivered: 2, recalled: 2 });
  });

  it('refuses a delivery time beyond the limit', async () => {
    const error = await producer.send([message(2 * 60 * 60 * 1000)]).catch((e: unknown) => e);
    expect(isRmqError(error, 'ILLEGAL_DELIVERY_TIME')).toBe(true);
    expect((error as Error).message).toMatch(/ms away; the limit is 3600000 ms/);
  });

  it('after a restart delivers every pending message once, keeps recalls, and does not deliver again what was delivered', async () => {
    const [done] = await producer.send([message(0)]);
    await eventually(async () => expect(await delivered()).toHaveLength(1));
    const pending = await producer.send([message(1_500), message(2_500), message(40_000)]);
    await timers.recall('D', pending[2].recallHandle!);
    await close();
    await open();
    expect(timers.stats()).toMatchObject({ pending: 2 });
    const records = await eventually(async () => {
      const found = await delivered();
      expect(found).toHaveLength(3);
      return found;
    }, { timeoutMs: 10_000 });
    expect(records.map((r) => r.properties.get(SYSTEM_PROPERTY.messageId)).sort()).toEqual([done.messageId, pending[0].messageId, pending[1].messageId].sort());
  });

  it('does not deliver twice a message whose delivery reached the log but whose mark did not (a torn last append)', async () => {
    const [sent] = await producer.send([message(-1_000)]);
    await eventually(async () => expect(await delivered()).toHaveLength(1));
    // Another one, delivered by hand without a mark, as if the crash tore the append after it.
    const nowMs = Date.now();
    await timers.close();
    const [late] = await producer.send([message(-1_000, nowMs)]);
    const { records } = await store.read(TIMER_TOPIC, TIMER_QUEUE.schedules, 1, { countMax: 1 });
    await store.append([reputInput(records[0], QUEUES)]);
    await state.journal.close();
    await store.close();
    await open();
    await eventually(() => expect(timers.stats().pending).toBe(0));
    const ids = (await delivered()).map((r) => r.properties.get(SYSTEM_PROPERTY.messageId));
    expect(ids.sort()).toEqual([sent.messageId, late.messageId].sort());
  });

  it('does not deliver twice an unmarked delivery of a schedule due earlier in the second the service starts in', async () => {
    // Due 100 ms into a past second; the service starts again 50 ms after that (a clock set back),
    // so the schedule is due before the start but in the start's own second.
    const dueMs = Math.floor((Date.now() - 3_000) / 1000) * 1000 + 100;
    await timers.close();
    const [sent] = await producer.send([message(dueMs - Date.now())]);
    const { records } = await store.read(TIMER_TOPIC, TIMER_QUEUE.schedules, 0, { countMax: 1 });
    await store.append([reputInput(records[0], QUEUES)]); // delivered, its mark cut off
    await state.journal.close();
    await store.close();
    const shiftMs = Date.now() - (dueMs + 50);
    await open({ nowMs: () => Date.now() - shiftMs });
    await eventually(() => expect(timers.stats().pending).toBe(0), { timeoutMs: 5_000 });
    expect(idsOf(await delivered())).toEqual([sent.messageId]);
  });

  /** Stops the service and appends, as its dispatches would have, each group of schedule offsets' deliveries with the mark given (none: cut off). */
  async function deliverByHand(appends: { scheduleQueueOffsets: number[]; mark?: { queueOffset: number; dueMs: number } }[]): Promise<void> {
    await timers.close();
    for (const { scheduleQueueOffsets, mark } of appends) {
      const inputs = [];
      for (const queueOffset of scheduleQueueOffsets) inputs.push(reputInput((await store.read(TIMER_TOPIC, TIMER_QUEUE.schedules, queueOffset, { countMax: 1 })).records[0], QUEUES));
      if (mark) inputs.push(markInput(mark.queueOffset, mark.dueMs, Date.now()));
      await store.append(inputs);
    }
    await state.journal.close();
    await store.close();
    await open();
  }

  const idsOf = (records: StoredRecord[]) => records.map((r) => r.properties.get(SYSTEM_PROPERTY.messageId)).sort();

  it('does not deliver twice a message an earlier dispatch delivered while the last mark was written (marks never claim another dispatch in flight)', async () => {
    const nowMs = Date.now();
    // Schedules 0 and 4 go to the same queue (offset modulo 4); 1 to 3 are due later.
    const sent = await producer.send([-1_000, 60_000, 60_000, 60_000, -2_000].map((delayMs) => message(delayMs, nowMs)));
    // The dispatch of schedule 0 was in flight when the one of schedule 4 wrote its mark, which therefore stops at 0's due time.
    await deliverByHand([{ scheduleQueueOffsets: [0] }, { scheduleQueueOffsets: [4], mark: { queueOffset: 5, dueMs: nowMs - 1_000 } }]);
    await eventually(() => expect(timers.stats().pending).toBe(3));
    expect(idsOf(await delivered())).toEqual([sent[0].messageId, sent[4].messageId].sort());
  });

  it('does not deliver twice a message the last mark settled within the mark\'s own second (the index dates schedules to the second)', async () => {
    const secondMs = (Math.floor(Date.now() / 1000) + 2) * 1000;
    const [settled] = await producer.send([message(secondMs + 100 - Date.now())]);
    const [after] = await producer.send([message(secondMs + 950 - Date.now())]);
    // A mark in the future: the old master's window was ahead and nothing due before its end was left.
    await deliverByHand([{ scheduleQueueOffsets: [0], mark: { queueOffset: 2, dueMs: secondMs + 900 } }]);
    expect(timers.stats().pending).toBe(2); // both wait for their second; the settled one is told apart when read
    await eventually(async () => expect(timers.stats()).toMatchObject({ pending: 0 }), { timeoutMs: 6_000 });
    expect(idsOf(await delivered())).toEqual([settled.messageId, after.messageId].sort());
  });

  it('keeps far-away schedules on disk, not in memory, across a restart', async () => {
    const count = 6_000;
    const nowMs = Date.now();
    for (let at = 0; at < count; at += 1_000) {
      await producer.send(Array.from({ length: 1_000 }, (_, i) => message(10 * 60_000 + ((at + i) % 300) * 1_000, nowMs)));
    }
    await eventually(() => expect(timers.stats()).toMatchObject({ pending: count, onDisk: count, inMemory: 0 }));
    await close();
    await open();
    expect(timers.stats()).toMatchObject({ pending: count, onDisk: count, inMemory: 0 });
  }, 30_000);
});
