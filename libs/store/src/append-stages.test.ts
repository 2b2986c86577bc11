// appendStaged (sync mode): `written` resolves once the batch reached the OS, `committed` after its
// fdatasync; a lazy batch (awaitsDurable false) gets no fdatasync of its own, and a failed one
// after it writes its bytes again. Held and failing fdatasyncs make the order visible.
import { writeSync } from 'node:fs';
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

describe('MessageStore.appendStaged with awaitsDurable false (sync mode)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('append-lazy')));
  afterEach(() => temp.remove());

  /**
   * Real I/O that counts the commit log's fdatasyncs and, while `failing` is set, fails them with
   * EIO the way Linux may: the pages written since the last good sync are dropped (zeroed here).
   */
  function droppingIo() {
    const unsyncedWrites: { path: string; fd: number; position: number; length: number }[] = [];
    const io: FileIo & { syncs: number; failing: boolean } = {
      syncs: 0,
      failing: false,
      writevSync: (path, fd, buffers, position) => {
        const written = nodeFileIo.writevSync(path, fd, buffers, position);
        if (path.includes('commitlog')) unsyncedWrites.push({ path, fd, position, length: written });
        return written;
      },
      write: (...args) => nodeFileIo.write(...args),
      datasync: async (path, file) => {
        if (!path.includes('commitlog')) return nodeFileIo.datasync(path, file);
        if (io.failing) {
          for (const lost of unsyncedWrites.filter((write) => write.path === path).splice(0)) writeSync(lost.fd, Buffer.alloc(lost.length), 0, lost.length, lost.position);
          unsyncedWrites.length = 0;
          throw Object.assign(new Error('EIO: injected datasync failure'), { code: 'EIO', syscall: 'fdatasync' });
        }
        io.syncs++;
        await nodeFileIo.datasync(path, file);
        unsyncedWrites.length = 0;
      },
    };
    return io;
  }

  it('writes the batch without an fdatasync of its own; the next batch that needs one makes it durable', async () => {
    const io = droppingIo();
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      await store.append([message('first')]);
      const before = io.syncs;
      const lazy = store.appendStaged([message('lazy')], { awaitsDurable: false });
      let lazyCommitted = false;
      void lazy.committed.then(() => (lazyCommitted = true));
      const [written] = await lazy.written;
      // Written, not synced (no fdatasync was issued for it): not durable, not committed; then a
      // plain append syncs both at once.
      expect(io.syncs).toBe(before);
      expect(store.durableLogOffset).toBeLessThanOrEqual(written.logOffset);
      expect(lazyCommitted).toBe(false);
      await store.append([message('durable')]);
      expect(lazyCommitted).toBe(true);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['first', 'lazy', 'durable']);
    } finally {
      await store.close();
    }
  });

  it('syncs a lazy batch on its own shortly when nothing follows it', async () => {
    const io = droppingIo();
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    try {
      const lazy = store.appendStaged([message('alone')], { awaitsDurable: false });
      const [result] = await lazy.committed;
      expect(store.durableLogOffset).toBeGreaterThan(result.logOffset);
      expect(io.syncs).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('writes lazy batches again when an fdatasync after them failed, so nothing below the durable offset is lost', async () => {
    const io = droppingIo();
    const dataDir = temp.path;
    const store = await MessageStore.open({ dataDir, flushMode: 'sync', fileIo: io });
    try {
      const lazy = store.appendStaged([message('lazy-1'), message('lazy-2')], { awaitsDurable: false });
      await lazy.written;
      io.failing = true;
      const durable = store.append([message('durable')]);
      await eventually(() => expect(store.stats().writeRefusal).toContain('EIO'));
      io.failing = false;
      await durable;
      await lazy.committed;
    } finally {
      await store.close();
    }
    const reopened = await MessageStore.open({ dataDir, flushMode: 'sync' });
    try {
      const { records } = await reopened.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['lazy-1', 'lazy-2', 'durable']);
    } finally {
      await reopened.close();
    }
  });
});
