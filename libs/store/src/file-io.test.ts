// Disk failures injected through the FileIo seam: a failed queue file flush in a checkpoint loses
// nothing acknowledged. (Transient commit log write and fdatasync failures stall writing until the
// disk is back: fault-healing.test.ts.)
import { makeTempDir } from '@rmq/testing';
import { faultyFileIo } from './file-io';
import { MessageStore, type AppendInput, type StoreEvent } from './message-store';

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

  it('a queue file flush failing in a checkpoint is reported and retried, and loses nothing acknowledged', async () => {
    let failing = false;
    const events: StoreEvent[] = [];
    const fileIo = faultyFileIo((op, path) => (failing && op === 'datasync' && path.includes('consumequeue') ? 'EIO' : undefined));
    // Every new entry makes its queue due, so the next periodic checkpoint writes the queue file.
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 10, queuePersistEntriesMin: 1, fileIo, onEvent: (event) => events.push(event) });
    await store.append([message(0)]);
    failing = true;
    await store.append([message(1)]); // acknowledged: the log is fine, only the queue file fails
    const deadlineMs = Date.now() + 5000;
    const stalled = () => events.find((event) => event.kind === 'writeStalled' && event.operation === 'checkpoint');
    while (!stalled() && Date.now() < deadlineMs) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(stalled()).toMatchObject({ error: { code: 'EIO' } });
    expect(store.stats().checkpointProblem).toMatch(/EIO/);
    failing = false;
    await store.append([message(2)]); // the disk is back: writes and checkpoints go on
    await store.close();

    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    try {
      expect(await bodies(reopened)).toEqual(['m0', 'm1', 'm2']);
    } finally {
      await reopened.close();
    }
  });
});
