import fc from 'fast-check';
import { isRmqError, systemClock } from '@rmq/base';
import { eventually, makeTempDir } from '@rmq/testing';
import { MessageStore, type StoredRecord } from '@rmq/store';
import { SYSTEM_PROPERTY, type IncomingMessage, type OutgoingMessage } from './message-properties';
import { ProducerService } from './producer-service';
import { checkAgeMs, checksDueBy } from './transaction-checks';
import { TransactionService } from './transaction-service';
import { openBrokerState, type BrokerState } from './broker-state';
import type { TopicRegistry } from './topic-registry';

describe('check schedule', () => {
  it('checks first at firstMs, then at doubling intervals capped at the maximum, never more than checksMax', () => {
    const policy = { firstMs: 1_000, intervalMaxMs: 5_000, checksMax: 4 };
    expect([0, 1, 2, 3, 4].map((i) => checkAgeMs(i, policy))).toEqual([1_000, 3_000, 7_000, 12_000, 17_000]);
    expect(checksDueBy(999, policy)).toBe(0);
    expect(checksDueBy(3_000, policy)).toBe(2);
    expect(checksDueBy(1e9, policy)).toBe(4);
    fc.assert(fc.property(fc.nat(100_000), fc.nat(100_000), (a, b) => {
      expect(checksDueBy(Math.min(a, b), policy)).toBeLessThanOrEqual(checksDueBy(Math.max(a, b), policy));
    }));
  });
});

describe('TransactionService', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  let topics: TopicRegistry;
  let state: BrokerState;
  let transactions: TransactionService;
  let producer: ProducerService;
  let checks: { message: IncomingMessage; transactionId: string }[];
  /** Checks tried while no producer was connected (checkBack answered false). */
  let unreached: string[];
  let producerConnected: (transactionId: string) => boolean;
  let sequence = 0;

  async function open(firstMs = 60_000, checksMax = 3, clock = systemClock): Promise<void> {
    store = await MessageStore.open({ dataDir: `${temp.path}/store`, flushMode: 'async' });
    state = await openBrokerState({ store, dataDir: temp.path, clock: systemClock, autoCreateGroups: true, groupDefaults: () => ({ maxAttempts: 3, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }) });
    topics = state.topics;
    await topics.create('TX', { queueCount: 2, messageType: 'TRANSACTION' });
    transactions = await TransactionService.open({
      store, clock, queueCountOf: (topic) => topics.get(topic)?.queueCount, policy: { firstMs, intervalMaxMs: 400, checksMax },
      checkBack: (message, transactionId) => {
        if (!producerConnected(transactionId)) {
          unreached.push(transactionId);
          return false;
        }
        checks.push({ message, transactionId });
        return true;
      },
      onError: (error) => {
        throw error;
      },
    });
    producer = new ProducerService(store, topics, undefined, { TRANSACTION: transactions.stager() });
  }

  async function close(): Promise<void> {
    transactions.close();
    await state.journal.close();
    await store.close();
  }

  beforeEach(async () => {
    temp = makeTempDir('transactions');
    checks = [];
    unreached = [];
    producerConnected = () => true;
  });

  afterEach(async () => {
    await close();
    temp.remove();
  });

  const message = (): OutgoingMessage => ({
    topic: 'TX', body: Buffer.from('tx'), messageId: `tx-${sequence++}`, messageType: 'TRANSACTION', keys: [], bornTimestampMs: Date.now(), bornHost: 'h', userProperties: new Map(),
  });

  async function visible(): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    for (let queueId = 0; queueId < 2; queueId++) records.push(...(await store.read('TX', queueId, 0, { countMax: 1000 })).records);
    return records;
  }

  it('keeps a half message invisible; COMMIT makes it visible, ROLLBACK discards it; a second end is refused', async () => {
    await open();
    const [commit, rollback] = await producer.send([message(), message()]);
    expect(await visible()).toEqual([]);
    expect(transactions.list('TX').map((t) => t.messageId)).toEqual([commit.messageId, rollback.messageId]);
    await transactions.end('TX', commit.messageId, commit.transactionId!, 'COMMIT');
    await transactions.end('TX', rollback.messageId, rollback.transactionId!, 'ROLLBACK');
    expect((await visible()).map((r) => r.properties.get(SYSTEM_PROPERTY.messageId))).toEqual([commit.messageId]);
    const again = await transactions.end('TX', commit.messageId, commit.transactionId!, 'ROLLBACK').catch((e: unknown) => e);
    expect(isRmqError(again, 'TRANSACTION_ENDED')).toBe(true);
    await expect(transactions.end('TX', 'other', commit.transactionId!, 'COMMIT')).rejects.toThrow(/it belongs to message/);
    await expect(transactions.end('TX', commit.messageId, 'bogus', 'COMMIT')).rejects.toThrow(/transaction id is not valid/);
    expect(transactions.stats()).toMatchObject({ open: 0, committed: 1, rolledBack: 1 });
  });

  it('keeps open transactions across a restart, and what ended before it stays ended', async () => {
    await open();
    const [open1, ended, open2] = await producer.send([message(), message(), message()]);
    await transactions.end('TX', ended.messageId, ended.transactionId!, 'COMMIT');
    await close();
    await open();
    expect(transactions.list().map((t) => t.messageId).sort()).toEqual([open1.messageId, open2.messageId].sort());
    await transactions.end('TX', open2.messageId, open2.transactionId!, 'COMMIT');
    await expect(transactions.end('TX', ended.messageId, ended.transactionId!, 'COMMIT')).rejects.toThrow(/has already ended/);
    expect((await visible()).map((r) => r.properties.get(SYSTEM_PROPERTY.messageId)).sort()).toEqual([ended.messageId, open2.messageId].sort());
  });

  it('checks an open transaction back with its producer, again with backoff, then rolls it back as expired', async () => {
    await open(200, 3);
    const [sent] = await producer.send([message()]);
    await eventually(() => expect(transactions.stats().expired).toBe(1), { timeoutMs: 10_000 });
    expect(checks.map((c) => c.transactionId)).toEqual([sent.transactionId, sent.transactionId, sent.transactionId]);
    expect(checks[0].message).toMatchObject({ topic: 'TX', messageId: sent.messageId });
    expect(await visible()).toEqual([]);
    expect(transactions.stats()).toMatchObject({ open: 0, checks: 3, expired: 1 });
  });

  it('counts only checks that reached a producer: with none connected it tries again, and expires after as many attempts again', async () => {
    producerConnected = () => false;
    await open(200, 2);
    const [late, orphan] = await producer.send([message(), message()]);
    await eventually(() => expect(unreached.filter((id) => id === late.transactionId)).toHaveLength(3), { timeoutMs: 10_000 });
    expect(transactions.list().map((t) => [t.messageId, t.checks])).toEqual([[late.messageId, 0], [orphan.messageId, 0]]);
    producerConnected = (id) => id === late.transactionId; // the late one's producer connects, the orphan's never does
    await eventually(() => expect(transactions.stats().expired).toBe(2), { timeoutMs: 15_000 });
    // Four attempts each (twice checksMax): the late one's fourth reached its producer.
    expect(checks.map((c) => c.transactionId)).toEqual([late.transactionId]);
    expect(unreached.filter((id) => id === orphan.transactionId)).toHaveLength(4);
    expect(transactions.stats()).toMatchObject({ open: 0, checks: 1, expired: 2 });
  });

  it('after a long stop, an open transaction is checked again on its schedule, not expired at the first sweep', async () => {
    await open(200, 2);
    const [sent] = await producer.send([message()]);
    await close();
    producerConnected = () => false; // its producer has not reconnected yet when the broker is back an hour later
    const anHourLater = { nowMs: () => Date.now() + 3_600_000 };
    await open(200, 2, anHourLater);
    await eventually(() => expect(unreached).toHaveLength(2), { timeoutMs: 10_000 });
    expect(transactions.list().map((t) => t.messageId)).toEqual([sent.messageId]);
    producerConnected = () => true;
    await eventually(() => expect(checks.map((c) => c.transactionId)).toEqual([sent.transactionId]), { timeoutMs: 10_000 });
  });
});
