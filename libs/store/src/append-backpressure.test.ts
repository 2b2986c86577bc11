import { makeTempDir } from '@rmq/testing';
import { MessageStore, type AppendInput } from './message-store';
import { tagHashOf } from './record';

const message = (sizeBytes: number): AppendInput => ({
  topic: 'T', queueId: 0, tagHash: tagHashOf(undefined), flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.alloc(sizeBytes, 1),
});

describe('append backpressure', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('backpressure')));
  afterEach(() => temp.remove());

  it('refuses appends with TOO_MANY_REQUESTS while more than the bound waits to be written, and accepts again once it is written', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', pendingAppendBytesMax: 1024 * 1024 });
    try {
      const first = store.append([message(700 * 1024)]);
      await expect(store.append([message(700 * 1024)])).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('retry shortly') });
      // One batch above the bound alone is accepted (else it could never be written).
      await first;
      const results = await Promise.allSettled([store.append([message(2 * 1024 * 1024)]), store.append([message(10)])]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect((await store.append([message(10)]))[0].queueOffset).toBe(2);
      expect(store.queueRange('T', 0).maxQueueOffset).toBe(3);
    } finally {
      await store.close();
    }
  });
});
