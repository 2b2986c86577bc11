// appendStaged: `written` resolves once the batch reached the OS, before its fdatasync; `committed`
// (what append() resolves with) only after it. Held fdatasyncs (gatedFileIo) make the order visible.
// With syncsInFlightMax 2, a batch written while an fdatasync runs gets one of its own at once.
import { eventually, makeTempDir } from '@rmq/testing';
import { faultyFileIo, gatedFileIo, nodeFileIo } from './file-io';
import { MessageStore, type AppendInput } from './message-store';
import { tagHashOf } from './record';

/**
 * A FileIo whose held fdatasyncs of the gated paths are let go (or failed with an errno) one by
 * one, by the order they were issued in, or all at once.
 */
function steppedFileIo(gated: (path: string) => boolean) {
  let held = false;
  const waiters: ({ go: () => void; fail: (error: Error) => void } | undefined)[] = [];
  const take = (index: number) => {
    const waiter = waiters[index];
    waiters[index] = undefined;
    return waiter;
  };
  return {
    ...nodeFileIo,
    datasync: async (path: string, file: Parameters<typeof nodeFileIo.datasync>[1]) => {
      if (held && gated(path)) await new Promise<void>((go, fail) => waiters.push({ go, fail }));
      return nodeFileIo.datasync(path, file);
    },
    hold: () => void (held = true),
    get waiting() {
      return waiters.filter(Boolean).length;
    },
    releaseOne: (index: number) => take(index)?.go(),
    failOne: (index: number, code: string) => take(index)?.fail(Object.assign(new Error(`${code}: injected fdatasync failure`), { code })),
    release: () => {
      held = false;
      waiters.forEach((waiter) => waiter?.go());
      waiters.length = 0;
    },
  };
}

const message = (body: string): AppendInput => ({ topic: 'T', queueId: 0, tagHash: tagHashOf(undefined), flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.from(body) });

describe('MessageStore.appendStaged', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('append-stages')));
  afterEach(() => temp.remove());

  it('in sync mode tells written while the fdatasync is still running, committed only after it', async () => {
    const io = gatedFileIo((path) => path.includes('commitlog'));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      await store.append([message('first')]);
      io.hold();
      const { written, committed } = store.appendStaged([message('a'), message('b')]);
      let isCommitted = false;
      void committed.then(() => (isCommitted = true));
      const results = await written;
      expect(results.map((result) => result.queueOffset)).toEqual([1, 2]);
      // The batch's fdatasync is held: the records are in the page cache, not durable, not readable.
      await eventually(() => expect(io.waiting).toBe(1));
      expect(store.durableLogOffset).toBeLessThan(results[1].logOffset);
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(1);
      // A plain append behind it waits too.
      let plainDone = false;
      const plain = store.append([message('c')]).then(() => (plainDone = true));
      await Promise.resolve();
      expect(isCommitted).toBe(false);
      expect(plainDone).toBe(false);

      io.release();
      expect(await committed).toEqual(results);
      await plain;
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(4);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['first', 'a', 'b', 'c']);
    } finally {
      io.release();
      await store.close();
    }
  });

  it('in sync mode writes a batch while an earlier fdatasync runs, and commits it only after an fdatasync of its own', async () => {
    const io = gatedFileIo((path) => path.includes('commitlog'));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      io.hold();
      const first = store.appendStaged([message('a')]);
      await first.written;
      await eventually(() => expect(io.waiting).toBe(1));
      // The second batch reaches the OS without waiting for the first one's fdatasync...
      const second = store.appendStaged([message('b')]);
      const [b] = await second.written;
      let secondCommitted = false;
      void second.committed.then(() => (secondCommitted = true));
      // ...and gets no fdatasync while one is in flight (the next covers everything written meanwhile).
      expect(io.waiting).toBe(1);
      io.release();
      io.hold(); // the second batch's fdatasync, issued once the first ends, is held
      await first.committed;
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(1);
      await eventually(() => expect(io.waiting).toBe(1));
      expect(secondCommitted).toBe(false);
      expect(store.durableLogOffset).toBeLessThanOrEqual(b.logOffset);
      io.release();
      expect(await second.committed).toEqual([b]);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['a', 'b']);
    } finally {
      io.release();
      await store.close();
    }
  });

  it('in sync mode writes plain appends that arrive during an fdatasync together, just before the next one', async () => {
    const gated = gatedFileIo((path) => path.includes('commitlog'));
    let logWrites = 0;
    const io = { ...gated, writevSync: (...args: Parameters<typeof gated.writevSync>) => (args[0].includes('commitlog') && logWrites++, gated.writevSync(...args)) };
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      gated.hold();
      const first = store.append([message('a')]);
      await eventually(() => expect(gated.waiting).toBe(1));
      const writesBefore = logWrites;
      const plain: Promise<unknown>[] = [];
      for (const body of ['b', 'c', 'd']) {
        plain.push(store.append([message(body)]));
        await new Promise(setImmediate); // each in an event-loop turn of its own, as calls arrive
      }
      expect(logWrites).toBe(writesBefore); // none written while the fdatasync runs
      gated.release();
      await first;
      await Promise.all(plain);
      expect(logWrites).toBe(writesBefore + 1); // all three in one pwritev
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['a', 'b', 'c', 'd']);
    } finally {
      gated.release();
      await store.close();
    }
  });

  it('with two fdatasyncs in flight gives a batch written while one runs one of its own at once, and commits in log order', async () => {
    const io = steppedFileIo((path) => path.includes('commitlog'));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io, syncsInFlightMax: 2 });
    try {
      io.hold();
      const first = store.appendStaged([message('a')]);
      await first.written;
      await eventually(() => expect(io.waiting).toBe(1));
      // The second batch reaches the OS and gets its fdatasync without waiting for the first one's.
      const second = store.appendStaged([message('b')]);
      const [b] = await second.written;
      await eventually(() => expect(io.waiting).toBe(2));
      let secondCommitted = false;
      void second.committed.then(() => (secondCommitted = true));
      // Its fdatasync ends first: still not committed, the first batch's is not through yet.
      io.releaseOne(1);
      for (let turn = 0; turn < 5; turn++) await new Promise(setImmediate);
      expect(secondCommitted).toBe(false);
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(0);
      io.releaseOne(0);
      await first.committed;
      expect(await second.committed).toEqual([b]);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['a', 'b']);
    } finally {
      io.release();
      await store.close();
    }
  });

  it('with two fdatasyncs in flight writes both batches again when the first fails, and commits them in order', async () => {
    const io = steppedFileIo((path) => path.includes('commitlog'));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io, syncsInFlightMax: 2 });
    try {
      io.hold();
      const first = store.append([message('a')]);
      await eventually(() => expect(io.waiting).toBe(1));
      const second = store.append([message('b')]);
      await eventually(() => expect(io.waiting).toBe(2));
      io.failOne(0, 'EIO');
      // Both batches are written again and synced once more (held too), the second's own fdatasync still waiting.
      await eventually(() => expect(io.waiting).toBe(2), { timeoutMs: 5_000 });
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(0);
      io.release();
      await Promise.all([first, second]);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['a', 'b']);
    } finally {
      io.release();
      await store.close();
    }
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(2);
    await reopened.close();
  });

  it('with two fdatasyncs in flight writes plain appends that arrive while both run together, just before the next one', async () => {
    const gated = gatedFileIo((path) => path.includes('commitlog'));
    let logWrites = 0;
    const io = { ...gated, writevSync: (...args: Parameters<typeof gated.writevSync>) => (args[0].includes('commitlog') && logWrites++, gated.writevSync(...args)) };
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io, syncsInFlightMax: 2 });
    try {
      gated.hold();
      const first = store.append([message('a')]);
      await eventually(() => expect(gated.waiting).toBe(1));
      const second = store.append([message('b')]);
      await eventually(() => expect(gated.waiting).toBe(2));
      const writesBefore = logWrites;
      const plain: Promise<unknown>[] = [];
      for (const body of ['c', 'd', 'e']) {
        plain.push(store.append([message(body)]));
        await new Promise(setImmediate); // each in an event-loop turn of its own, as calls arrive
      }
      expect(logWrites).toBe(writesBefore); // none written while two fdatasyncs run
      expect(gated.waiting).toBe(2);
      gated.release();
      await Promise.all([first, second, ...plain]);
      expect(logWrites).toBe(writesBefore + 1); // all three in one pwritev
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['a', 'b', 'c', 'd', 'e']);
    } finally {
      gated.release();
      await store.close();
    }
  });

  it('fails both stages when the write fails for good, and both at once when the store refuses', async () => {
    let failing = false;
    const io = faultyFileIo((operation, path) => (failing && operation === 'write' && path.includes('commitlog') ? 'EBADF' : undefined));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      failing = true;
      const broken = store.appendStaged([message('lost')]);
      await expect(broken.written).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(broken.committed).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      const refused = store.appendStaged([message('refused')]);
      await expect(refused.written).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await expect(refused.committed).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    } finally {
      await store.close().catch(() => undefined);
    }
  });
});
