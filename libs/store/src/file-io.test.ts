// Disk failures injected through the FileIo seam: a failed write or flush of the commit log is
// never acknowledged and refuses every later append (STORE_FULL for ENOSPC, STORE_CLOSED
// otherwise); a failed queue file flush in a checkpoint does the same; what was acknowledged
// before is all there after a restart on a healthy disk.
import { isRmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { faultyFileIo, type FileOperation } from './file-io';
import { MessageStore, type AppendInput, type FlushMode, type StoreEvent } from './message-store';

function message(i: number): AppendInput {
  return { topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(`m${i}`) };
}

async function bodies(store: MessageStore): Promise<string[]> {
  return (await store.read('T', 0, 0, { countMax: 1000 })).records.map((record) => record.body.toString());
}

describe('MessageStore on a failing disk (FileIo)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store-file-io')));
  afterEach(() => temp.remove());

  it.each<{ operation: FileOperation; code: string; flushMode: FlushMode; expected: 'STORE_FULL' | 'STORE_CLOSED' }>([
    { operation: 'write', code: 'ENOSPC', flushMode: 'sync', expected: 'STORE_FULL' },
    { operation: 'write', code: 'EIO', flushMode: 'async', expected: 'STORE_CLOSED' },
    { operation: 'datasync', code: 'EIO', flushMode: 'sync', expected: 'STORE_CLOSED' },
  ])('a commit log $operation failing with $code ($flushMode) is not acknowledged and refuses later appends with $expected', async ({ operation, code, flushMode, expected }) => {
    let failing = false;
    const events: StoreEvent[] = [];
    const fileIo = faultyFileIo((op, path) => (failing && op === operation && path.includes('commitlog') ? code : undefined));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode, fileIo, onEvent: (event) => events.push(event) });
    await store.append([message(0), message(1)]);
    failing = true;
    const refused = await store.append([message(2)]).catch((error: unknown) => error);
    expect(isRmqError(refused, expected)).toBe(true);
    expect(events.find((event) => event.kind === 'writeFailed')).toMatchObject({ error: { code } });
    failing = false; // the disk heals, the store stays refusing: it cannot know what reached the disk
    expect(isRmqError(await store.append([message(3)]).catch((error: unknown) => error), expected)).toBe(true);
    expect(await bodies(store)).toEqual(['m0', 'm1']);
    await store.close().catch(() => undefined);

    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode });
    try {
      expect((await bodies(reopened)).slice(0, 2)).toEqual(['m0', 'm1']);
      const [next] = await reopened.append([message(4)]);
      expect((await bodies(reopened)).at(-1)).toBe('m4');
      expect(next.queueOffset).toBe((await bodies(reopened)).length - 1);
    } finally {
      await reopened.close();
    }
  });

  it('a queue file flush failing in a checkpoint refuses later appends and loses nothing acknowledged', async () => {
    let failing = false;
    const events: StoreEvent[] = [];
    const fileIo = faultyFileIo((op, path) => (failing && op === 'datasync' && path.includes('consumequeue') ? 'EIO' : undefined));
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 10, fileIo, onEvent: (event) => events.push(event) });
    await store.append([message(0)]);
    failing = true;
    await store.append([message(1)]); // acknowledged: the log is fine, only the queue file fails
    const deadlineMs = Date.now() + 5000;
    while (!events.some((event) => event.kind === 'writeFailed') && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events.find((event) => event.kind === 'writeFailed')).toMatchObject({ error: { code: 'EIO' } });
    expect(isRmqError(await store.append([message(2)]).catch((error: unknown) => error), 'STORE_CLOSED')).toBe(true);
    failing = false;
    await store.close().catch(() => undefined);

    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    try {
      expect(await bodies(reopened)).toEqual(['m0', 'm1']);
    } finally {
      await reopened.close();
    }
  });
});
