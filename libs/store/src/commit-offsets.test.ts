// Written, durable, committed: in a replica group (policy 'replicated') an append is answered
// and readable only once committed; records above the committed offset stay indexed but
// unreadable, also after a restart; alone (policy 'local') the store behaves as before.
import { join } from 'node:path';
import { isRmqError, RmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { MessageStore, type AppendInput } from './message-store';

function message(body: string): AppendInput {
  return { topic: 'C', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(body) };
}

async function bodies(store: MessageStore): Promise<string[]> {
  return (await store.read('C', 0, 0, { countMax: 100 })).records.map((record) => record.body.toString());
}

describe('MessageStore committed offset', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('commit')));
  afterEach(() => temp.remove());
  const open = (commitPolicy: 'local' | 'replicated') => MessageStore.open({ dataDir: join(temp.path, 'store'), flushMode: 'sync', segmentSizeBytes: 4096, commitPolicy });

  it('alone, commits what is durable: an append is answered and readable at once', async () => {
    const store = await open('local');
    await store.append([message('a')]);
    expect(store.stats()).toMatchObject({ writtenLogOffset: store.committedLogOffset, durableLogOffset: store.committedLogOffset });
    expect(await bodies(store)).toEqual(['a']);
    await store.close();
  });

  it('replicated, answers an append and shows its record only once advanceCommitted passes it, also after a restart', async () => {
    let store = await open('replicated');
    let answered = 0;
    const first = store.append([message('a')]).then((results) => (answered++, results));
    const second = store.append([message('b')]).then((results) => (answered++, results));
    const written = store.stats().logEndOffset; // both reserved
    await new Promise<void>((resolve) => {
      const stop = store.onLocalProgress(() => store.durableLogOffset === written && (stop(), resolve()));
    });
    expect(answered).toBe(0);
    expect(store.committedLogOffset).toBe(0);
    expect(await bodies(store)).toEqual([]);
    expect(store.queueRange('C', 0)).toEqual({ minQueueOffset: 0, maxQueueOffset: 0 });
    expect(await store.queueEntries('C', 0, 0, 100)).toEqual([]);

    store.advanceCommitted(written + 1_000); // never past written
    await first;
    expect(store.committedLogOffset).toBe(written);
    await second;
    expect(answered).toBe(2);
    expect(await bodies(store)).toEqual(['a', 'b']);
    expect((await store.queueEntries('C', 0, 0, 100)).map((entry) => entry.queueOffset)).toEqual([0, 1]);

    // A third record written but not committed: indexed, unreadable, and so it stays across a restart.
    const pending = store.append([message('c')]);
    await new Promise<void>((resolve) => {
      const stop = store.onLocalProgress(() => store.durableLogOffset > written && (stop(), resolve()));
    });
    const closing = store.close();
    expect(isRmqError(await pending.catch((error: unknown) => error), 'STORE_CLOSED')).toBe(true);
    await closing;
    store = await open('replicated');
    expect(store.committedLogOffset).toBe(written);
    expect(store.writtenLogOffset).toBeGreaterThan(written);
    expect(await bodies(store)).toEqual(['a', 'b']);
    expect((await store.queueEntries('C', 0, 0, 100)).map((entry) => entry.queueOffset)).toEqual([0, 1]);
    store.advanceCommitted(store.writtenLogOffset);
    expect(await bodies(store)).toEqual(['a', 'b', 'c']);
    await store.close();
  });

  it('refuses appends while told to, but not replicated ones', async () => {
    const store = await open('replicated');
    store.refuseAppends(new RmqError('NOT_MASTER', { brokerName: 'broker-a', epoch: 3 }));
    const error = await store.append([message('x')]).catch((caught: unknown) => caught);
    expect(isRmqError(error, 'NOT_MASTER') && error.message).toBe('broker broker-a is a slave in epoch 3; send to the master');
    store.refuseAppends(undefined);
    const done = store.append([message('y')]);
    const end = store.stats().logEndOffset;
    await new Promise<void>((resolve) => {
      const stop = store.onLocalProgress(() => store.durableLogOffset === end && (stop(), resolve()));
    });
    store.advanceCommitted(store.writtenLogOffset);
    await done;
    await store.close();
  });
});
