import { eventually, makeTempDir } from '@rmq/testing';
import { createLogger } from '@rmq/observability';
import { MessageStore } from '@rmq/store';
import { copiedTailReadable } from './copied-tail';

describe('copiedTailReadable (a new master reads its state only once the tail it copied is readable)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let store: MessageStore;
  const lines: string[] = [];
  const log = createLogger({}, { write: (line) => lines.push(line) });

  beforeEach(async () => {
    temp = makeTempDir('copied-tail');
    // As on a slave: records are written, but readable only once committed.
    store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async', commitPolicy: 'replicated' });
    lines.length = 0;
  });

  afterEach(async () => {
    store.advanceCommitted(store.writtenLogOffset);
    await store.close();
    temp.remove();
  });

  const appendUncommitted = async () => {
    void store.append([{ topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.from('tail') }]).catch(() => undefined);
    await eventually(() => expect(store.writtenLogOffset).toBeGreaterThan(0));
    expect(store.queueRange('T', 0).maxQueueOffset).toBe(0);
  };

  it('waits until the tail is committed, then the tail is readable', async () => {
    await appendUncommitted();
    let done = false;
    const waiting = copiedTailReadable(store, log, 10_000).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    store.advanceCommitted(store.writtenLogOffset);
    await waiting;
    expect(store.queueRange('T', 0).maxQueueOffset).toBe(1);
    expect(lines.join('\n')).toMatch(/the copied log tail is committed: state is rebuilt with it/);
  });

  it('returns at once when the whole log is readable', async () => {
    await copiedTailReadable(store, log, 10_000);
    expect(lines).toEqual([]);
  });

  it('goes on after its bound, saying so', async () => {
    await appendUncommitted();
    await copiedTailReadable(store, log, 50);
    expect(lines.join('\n')).toMatch(/the copied log tail was not committed in time/);
  });
});
