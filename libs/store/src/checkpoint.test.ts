// Periodic checkpoints persist only the queues that are due: a quiet queue's new entries wait in
// memory, the checkpoint stops below the first of them, and recovery after an unclean stop
// dispatches them again from the log. A clean close persists every queue.
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, makeTempDir } from '@rmq/testing';
import { Checkpointer } from './checkpoint';
import type { ConsumeQueue } from './consume-queue';
import { MessageStore, type AppendInput } from './message-store';
import type { Checkpoint } from './store-recovery';

const message = (queueId: number, body: string | Buffer): AppendInput =>
  ({ topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(body) });

describe('periodic checkpoints with quiet queues', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('checkpoint')));
  afterEach(() => temp.remove());

  const checkpointIn = (dir: string): Checkpoint => JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  const queueFile = (dir: string, queueId: number) => join(dir, 'consumequeue', 'T', String(queueId), '0'.repeat(20));
  const bodies = async (store: MessageStore, queueId: number) =>
    (await store.read('T', queueId, 0, { countMax: 1_000 })).records.map((record) => record.body.toString());

  it('persists a busy queue, holds a quiet one back and stops below its entry; an unclean restart recovers both', async () => {
    const live = join(temp.path, 'live');
    const store = await MessageStore.open({ dataDir: live, flushMode: 'sync', checkpointIntervalMs: 10, queuePersistEntriesMin: 8 });
    try {
      for (let i = 0; i < 10; i++) await store.append([message(0, `busy-${i}`)]);
      const [quiet] = await store.append([message(1, 'quiet')]);
      for (let i = 10; i < 20; i++) await store.append([message(0, `busy-${i}`)]);
      // Queue 0 was written in steps of at least 8 entries (fewer than 8 may still wait); queue 1's
      // one entry was never written, and the checkpoint stops below it.
      await eventually(() => expect(checkpointIn(live)).toMatchObject({ dispatchedLogOffset: quiet.logOffset, queueCounts: { 'T/0': 10, 'T/1': 0 } }));
      await eventually(() => expect(statSync(queueFile(live, 0)).size).toBeGreaterThan((20 - 8) * 20));
      expect(existsSync(queueFile(live, 1))).toBe(false);

      // What an unclean stop leaves now: the files as they are, the abort marker still there.
      const crashed = join(temp.path, 'crashed');
      cpSync(live, crashed, { recursive: true });
      expect(existsSync(join(crashed, 'abort'))).toBe(true);
      const recovered = await MessageStore.open({ dataDir: crashed, flushMode: 'sync' });
      try {
        expect(await bodies(recovered, 0)).toEqual(Array.from({ length: 20 }, (_, i) => `busy-${i}`));
        expect(await bodies(recovered, 1)).toEqual(['quiet']);
        const [next] = await recovered.append([message(1, 'after')]);
        expect(next.queueOffset).toBe(1);
      } finally {
        await recovered.close();
      }
    } finally {
      await store.close();
    }
    // A clean close persists every queue, and the checkpoint covers them all.
    expect(statSync(queueFile(live, 1)).size).toBe(20);
    expect(checkpointIn(live).queueCounts).toMatchObject({ 'T/0': 20, 'T/1': 1 });
  });

  it('persists a quiet queue once its first new entry is the lag bound behind the log end', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 10, queuePersistEntriesMin: 1_000, queuePersistLagBytesMax: 8 * 1024 });
    try {
      const [quiet] = await store.append([message(1, 'quiet')]);
      await store.append([message(0, Buffer.alloc(1024, 0x61))]);
      // Well under the bound: the checkpoint stays below the quiet entry.
      await eventually(() => expect(checkpointIn(temp.path).dispatchedLogOffset).toBe(quiet.logOffset));
      for (let i = 0; i < 8; i++) await store.append([message(0, Buffer.alloc(1024, 0x61))]);
      await eventually(() => expect(existsSync(queueFile(temp.path, 1)) && statSync(queueFile(temp.path, 1)).size).toBe(20));
      await eventually(() => expect(checkpointIn(temp.path).queueCounts?.['T/1']).toBe(1));
    } finally {
      await store.close();
    }
  });

  it('does not rewrite an unchanged checkpoint on a periodic tick, but does when asked for all queues', async () => {
    const queue = { topic: 'T', queueId: 0, firstUnpersistedLogOffset: undefined, unpersistedCount: 0, countBelowLogOffset: async () => 3, persist: async () => undefined };
    let dispatched = 300;
    const checkpointer = new Checkpointer({
      dataDir: temp.path, queues: new Map([['T/0', queue as unknown as ConsumeQueue]]), dispatchedLogOffset: () => dispatched, committedLogOffset: () => dispatched,
      persistEntriesMin: 409, persistLagBytesMax: 1 << 26,
    });
    const file = join(temp.path, 'checkpoint.json');
    await checkpointer.run('due');
    const first = statSync(file).ino; // written atomically: a rewrite is a new file
    await checkpointer.run('due');
    expect(statSync(file).ino).toBe(first);
    await checkpointer.run('all');
    const second = statSync(file).ino;
    expect(second).not.toBe(first);
    dispatched = 400;
    await checkpointer.run('due');
    expect(statSync(file).ino).not.toBe(second);
    expect(checkpointIn(temp.path).dispatchedLogOffset).toBe(400);
  });
});
