// appendStaged: `written` resolves once the batch reached the OS, before its fdatasync; `committed`
// (what append() resolves with) only after it. Held fdatasyncs (gatedFileIo) make the order visible.
// One fdatasync runs at a time: a batch written while it runs waits for the next, which starts before
// the batches the last one made durable are answered.
import { eventually, makeTempDir } from '@rmq/testing';
import { faultyFileIo, gatedFileIo, nodeFileIo, type FileIo } from './file-io';
import { MessageStore, type AppendInput } from './message-store';
import { tagHashOf } from './record';

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

  it('copies the bodies before it returns: a caller may overwrite them at once (the state journal reuses its buffer)', async () => {
    const io = gatedFileIo((path) => path.includes('commitlog'));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      io.hold(); // nothing is written or synced before the bodies are overwritten
      const inputs = [message('first body'), message('second body')];
      const { committed } = store.appendStaged(inputs);
      for (const input of inputs) input.body.fill(0x78);
      io.release();
      await committed;
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['first body', 'second body']);
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

  it('in sync mode writes a failed fdatasync\'s batch again with the one written meanwhile, and commits them in order', async () => {
    let failNext = false;
    const failing: FileIo = {
      ...nodeFileIo,
      datasync: async (path, file) => {
        if (!failNext || !path.includes('commitlog')) return nodeFileIo.datasync(path, file);
        failNext = false;
        throw Object.assign(new Error('EIO: injected fdatasync failure'), { code: 'EIO' });
      },
    };
    const io = gatedFileIo((path) => path.includes('commitlog'), failing);
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      io.hold();
      const first = store.append([message('a')]);
      await eventually(() => expect(io.waiting).toBe(1));
      const second = store.appendStaged([message('b')]);
      await second.written; // reached the OS while the first batch's fdatasync runs
      failNext = true;
      io.release(); // that fdatasync fails: both batches are written again and synced
      await Promise.all([first, second.committed]);
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

  it('in sync mode starts the fdatasync of what waited before answering what the last one made durable', async () => {
    const gate = gatedFileIo((path) => path.includes('commitlog'));
    let syncsStarted = 0;
    const io: FileIo = {
      ...nodeFileIo,
      writevSync: gate.writevSync,
      datasync: (path, file) => {
        if (path.includes('commitlog')) syncsStarted++;
        return gate.datasync(path, file);
      },
    };
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      await store.append([message('first')]);
      gate.hold();
      const a = store.append([message('a')]);
      await eventually(() => expect(gate.waiting).toBe(1));
      const startedBefore = syncsStarted;
      const b = store.append([message('b')]); // waits for the held fdatasync
      let syncsWhenAAnswered = -1;
      const aAnswered = a.then(() => (syncsWhenAAnswered = syncsStarted));
      gate.release();
      await aAnswered;
      expect(syncsWhenAAnswered).toBe(startedBefore + 1); // b's fdatasync was already on its way
      const [resultB] = await b;
      expect(store.durableLogOffset).toBeGreaterThan(resultB.logOffset);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['first', 'a', 'b']);
    } finally {
      gate.release();
      await store.close();
    }
  });

  it('in sync mode answers what an fdatasync made durable while the write of what waited for it stalls', async () => {
    const gate = gatedFileIo((path) => path.includes('commitlog'));
    let failing = false;
    const faulty = faultyFileIo((operation, path) => (failing && operation === 'write' && path.includes('commitlog') ? 'EIO' : undefined), gate);
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: faulty });
    try {
      await store.append([message('first')]);
      gate.hold();
      const a = store.append([message('a')]);
      await eventually(() => expect(gate.waiting).toBe(1));
      const b = store.append([message('b')]); // written once the held fdatasync ends: that write fails for a while
      failing = true;
      gate.release();
      await a; // answered although b's write is being retried
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(2);
      failing = false;
      await b;
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['first', 'a', 'b']);
    } finally {
      gate.release();
      await store.close();
    }
  });
});
