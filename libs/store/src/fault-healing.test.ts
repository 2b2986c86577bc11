// Transient disk errors through the FileIo seam: while a write or an fdatasync fails with EIO or
// ENOSPC the store refuses new appends with the reason (and says so in its stats), keeps the
// append in flight, and once the fault is gone writes it and accepts appends again, nothing lost.
import { makeTempDir, eventually } from '@rmq/testing';
import { faultyFileIo, type FileIo } from './file-io';
import { MessageStore, type AppendInput, type FlushMode, type StoreEvent } from './message-store';
import { tagHashOf } from './record';

const message = (body: string): AppendInput => ({ topic: 'T', queueId: 0, tagHash: tagHashOf(undefined), flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.from(body) });

/** Real I/O, except that the operation named in `fault` fails with its code while it is set. */
function faultyIo(): FileIo & { fault?: { operation: 'write' | 'datasync'; code: string } } {
  const io: FileIo & { fault?: { operation: 'write' | 'datasync'; code: string } } = Object.assign(
    faultyFileIo((operation) => (io.fault?.operation === operation ? io.fault.code : undefined)),
    { fault: undefined },
  );
  return io;
}

describe.each<[FlushMode, 'write' | 'datasync', string]>([
  ['sync', 'write', 'EIO'],
  ['sync', 'write', 'ENOSPC'],
  ['sync', 'datasync', 'EIO'],
  ['async', 'write', 'EMFILE'],
  ['async', 'datasync', 'ENOSPC'],
])('a store (%s) whose %s fails with %s for a while', (flushMode, operation, code) => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('fault-healing')));
  afterEach(() => temp.remove());

  it('refuses writes with the reason while it lasts, then resumes with nothing lost', async () => {
    const io = faultyIo();
    const events: StoreEvent['kind'][] = [];
    const store = await MessageStore.open({ dataDir: temp.path, flushMode, flushIntervalMs: 20, fileIo: io, onEvent: (event) => events.push(event.kind) });
    try {
      await store.append([message('before')]);
      io.fault = { operation, code };
      // In async mode an fdatasync runs on the flush timer, not under the append.
      const inFlight = flushMode === 'async' && operation === 'datasync' ? undefined : store.append([message('during')]);
      await eventually(() => expect(store.stats().writeRefusal).toContain(`${code} on ${operation === 'write' || flushMode === 'sync' ? 'write' : 'flush'}`), { timeoutMs: 5_000 });
      await expect(store.append([message('refused')])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('accepts writes again once the cause is gone') });
      expect(events).toContain('writeStalled');

      io.fault = undefined;
      await inFlight;
      await eventually(() => expect(store.stats().writeRefusal).toBeUndefined(), { timeoutMs: 5_000 });
      await store.append([message('after')]);
      const { records } = await store.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(inFlight ? ['before', 'during', 'after'] : ['before', 'after']);
      expect(events).toContain('writeResumed');
      expect(events).not.toContain('writeFailed');
    } finally {
      await store.close();
    }
    // And the log on disk has it all.
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode });
    expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(flushMode === 'async' && operation === 'datasync' ? 2 : 3);
    await reopened.close();
  });
});

describe('a store closed while a write is stalled', () => {
  it('gives up the write and closes instead of waiting for the disk', async () => {
    const temp = makeTempDir('fault-close');
    const io = faultyIo();
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', fileIo: io });
    io.fault = { operation: 'write', code: 'EIO' };
    const stalled = store.append([message('x')]).then(() => undefined, (error: { code?: string }) => error);
    await eventually(() => expect(store.stats().writeRefusal).toContain('EIO'), { timeoutMs: 5_000 });
    await store.close();
    expect(await stalled).toMatchObject({ code: 'STORE_CLOSED' });
    temp.remove();
  });
});
