// Long polls and new messages (topic-wakeups.ts): a new message wakes one waiting receive per
// group (per member in a broadcast group) that reads its queue; a woken receive that filled its
// batch passes the wake on, so what it left behind does not wait for the long-polling time.
import { randomBytes } from 'node:crypto';
import { eventually, makeTempDir } from '@rmq/testing';
import { MessageStore, tagHashOf } from '@rmq/store';
import { ConsumerService, type Delivery, type ReceiveRequest } from './consumer-service';
import { openBrokerState, type BrokerState } from './broker-state';
import { parseTagExpression } from './tag-filter';
import { TopicWakeups } from './topic-wakeups';

describe('TopicWakeups.wakeQueue', () => {
  it('ends the longest wait of each owner reading the queue, and every unscoped wait', async () => {
    const wakeups = new TopicWakeups();
    const ended: string[] = [];
    const wait = (name: string, scope?: { owner: string; queueId?: number }) => void wakeups.wait('T', 60_000, undefined, scope).then(() => ended.push(name));
    wait('g-first', { owner: 'g' });
    wait('g-second', { owner: 'g' });
    wait('h-queue-2', { owner: 'h', queueId: 2 });
    wait('h-queue-1', { owner: 'h', queueId: 1 });
    wait('unscoped');
    const before = wakeups.count('T');
    wakeups.wakeQueue('T', 1);
    await eventually(() => expect(ended.sort()).toEqual(['g-first', 'h-queue-1', 'unscoped']));
    expect(wakeups.count('T')).toBe(before + 1);
    expect(wakeups.wakeOne('T', 'h', 1)).toBe(false); // h's waiter of queue 2 does not read queue 1
    expect(wakeups.wakeOne('T', 'g')).toBe(true);
    wakeups.wake('T');
    await eventually(() => expect(ended.sort()).toEqual(['g-first', 'g-second', 'h-queue-1', 'h-queue-2', 'unscoped']));
  });

  it('wakes one waiter of an owner for several queues confirmed at once, and another for the next commit', async () => {
    const wakeups = new TopicWakeups();
    const ended: string[] = [];
    const wait = (name: string, scope: { owner: string; queueId?: number }) => void wakeups.wait('T', 60_000, undefined, scope).then(() => ended.push(name));
    wait('g-first', { owner: 'g' });
    wait('g-second', { owner: 'g' });
    wait('g-queue-2', { owner: 'g', queueId: 2 });
    wakeups.wakeQueue('T', 1); // one commit, two queues: g-first reads both
    wakeups.wakeQueue('T', 2);
    await eventually(() => expect(ended).toEqual(['g-first']));
    await new Promise(setImmediate); // every wake of that run has ended its wait by now
    expect(ended).toEqual(['g-first']);
    wakeups.wakeQueue('T', 2); // the next commit
    await eventually(() => expect(ended.sort()).toEqual(['g-first', 'g-second']));
    wakeups.wake('T'); // ends g-queue-2's wait, whose 60 s timer would keep jest from exiting
    await eventually(() => expect(ended).toContain('g-queue-2'));
  });
});

describe('ConsumerService long polls', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  let state: BrokerState;
  let consumer: ConsumerService;
  const aborts: AbortController[] = [];

  beforeEach(async () => {
    temp = makeTempDir('long-poll-wakeups');
    store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async' });
    state = await openBrokerState({
      store, dataDir: temp.path, clock: { nowMs: () => Date.now() }, autoCreateGroups: true,
      groupDefaults: (name) => ({ maxAttempts: 3, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: name === 'bc' ? 'broadcast' : 'clustering', consumeEnabled: true }),
    });
    await state.topics.create('T', { queueCount: 8 });
    const secret = randomBytes(32);
    consumer = new ConsumerService({ store, topics: state.topics, groups: state.groups, progress: state.progress, clock: { nowMs: () => Date.now() }, secret: () => secret });
  });

  afterEach(async () => {
    for (const abort of aborts.splice(0)) abort.abort();
    consumer.close();
    await state.journal.close();
    await store.close();
    temp.remove();
  });

  /** A receive long-polling for a minute (cancelled after the test); its deliveries once it returns. */
  function longPoll(request: Partial<ReceiveRequest> & { group: string }): { result?: Delivery[] } {
    const abort = new AbortController();
    aborts.push(abort);
    const polling: { result?: Delivery[] } = {};
    void consumer
      .receive({ topic: 'T', filter: parseTagExpression('*'), countMax: 32, invisibleMs: 60_000, longPollingMs: 60_000, signal: abort.signal, ...request })
      .then((deliveries) => (polling.result = deliveries));
    return polling;
  }

  const append = (queueId: number, bodies: string[]) =>
    store.append(bodies.map((body) => ({ topic: 'T', queueId, tagHash: tagHashOf(undefined), flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.from(body) })));
  const bodiesOf = (polls: { result?: Delivery[] }[]) => polls.flatMap((poll) => poll.result ?? []).map((delivery) => delivery.record.body.toString()).sort();
  /** Waits until `count` receives are parked in their long polls (done looking). */
  const parked = (count: number) => eventually(() => expect(consumer.receivesWaiting).toBe(count));

  it('hands a message to one long poll of a group; the others go on waiting for the next ones', async () => {
    const polls = [longPoll({ group: 'g' }), longPoll({ group: 'g' }), longPoll({ group: 'g' })];
    const other = longPoll({ group: 'h' });
    await parked(4);
    await append(0, ['one']);
    await eventually(() => expect(other.result?.length).toBe(1));
    await eventually(() => expect(bodiesOf(polls)).toEqual(['one']));
    expect(polls.filter((poll) => poll.result).length).toBe(1);
    await append(1, ['two']);
    await eventually(() => expect(bodiesOf(polls)).toEqual(['one', 'two']));
    expect(polls.filter((poll) => poll.result).length).toBe(2);
  });

  it('passes the wake on when a woken receive filled its batch', async () => {
    const polls = [longPoll({ group: 'g', countMax: 1 }), longPoll({ group: 'g', countMax: 1 }), longPoll({ group: 'g', countMax: 1 })];
    await parked(3);
    await append(3, ['a', 'b', 'c']); // one queue, one wake
    await eventually(() => expect(bodiesOf(polls)).toEqual(['a', 'b', 'c']));
  });

  it('wakes every member of a broadcast group, and the push receive of the queue that got the message', async () => {
    const members = [longPoll({ group: 'bc', clientId: 'm1' }), longPoll({ group: 'bc', clientId: 'm2' })];
    const push = (queueId: number) => longPoll({ group: 'p', clientId: 'c1', push: true, queueId, pushQueueId: queueId });
    const queue2 = push(2);
    const queue5 = push(5);
    await parked(4);
    await append(5, ['five']);
    await eventually(() => expect(bodiesOf(members)).toEqual(['five', 'five']));
    await eventually(() => expect(bodiesOf([queue5])).toEqual(['five']));
    expect(queue2.result).toBeUndefined();
  });
});
