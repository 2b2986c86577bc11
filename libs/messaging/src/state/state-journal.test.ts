import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_TOPIC, systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { makeTempDir } from '@rmq/testing';
import { StateJournal, type StateSection } from './state-journal';

/** A section holding a map of counters: the simplest state with changes and a dump. */
class Counters implements StateSection<{ key: string; value: number }> {
  readonly name = 'counters';
  readonly values = new Map<string, number>();
  constructor(private readonly journal: StateJournal) {
    journal.register(this);
  }
  set(key: string, value: number): Promise<void> {
    this.values.set(key, value);
    return this.journal.record(this.name, { key, value });
  }
  apply(change: { key: string; value: number }): void {
    this.values.set(change.key, change.value);
  }
  dump() {
    return [...this.values].map(([key, value]) => ({ key, value }));
  }
  reset(): void {
    this.values.clear();
  }
}

describe('StateJournal', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('journal')));
  afterEach(() => temp.remove());

  async function open(options: { snapshotEveryBytes?: number; segmentSizeBytes?: number } = {}) {
    const store = await MessageStore.open({ dataDir: join(temp.path, 'store'), flushMode: 'sync', segmentSizeBytes: options.segmentSizeBytes });
    const journal = new StateJournal({ store, dataDir: temp.path, clock: systemClock, snapshotEveryBytes: options.snapshotEveryBytes });
    const counters = new Counters(journal);
    await journal.open();
    return { store, journal, counters, close: async () => (await journal.close(), await store.close()) };
  }

  it('puts changes made together into one record, and a reopen replays them in order', async () => {
    const first = await open();
    await Promise.all(Array.from({ length: 100 }, (_, i) => first.counters.set(`k${i % 10}`, i)));
    expect(first.store.queueRange(STATE_TOPIC, 0).maxQueueOffset).toBe(1);
    await first.close();
    rmSync(join(temp.path, 'config', 'state-snapshot.json')); // replay from the log alone
    const second = await open();
    expect(second.counters.values.get('k3')).toBe(93);
    expect(second.counters.values.size).toBe(10);
    await second.close();
  });

  it('appends a delivery (answered once written) at the end of the microtask queue, other changes at the check phase, each group as one record', async () => {
    const { store, journal, close } = await open();
    const appendStaged = jest.spyOn(store, 'appendStaged');
    const durable = [journal.record('counters', { key: 'a', value: 1 }), journal.record('counters', { key: 'b', value: 2 })];
    await Promise.resolve();
    expect(appendStaged).not.toHaveBeenCalled(); // waits for the turn's other changes
    await new Promise((resolve) => setImmediate(resolve));
    expect(appendStaged).toHaveBeenCalledTimes(1);
    await Promise.all(durable);
    const written = [journal.record('counters', { key: 'c', value: 3 }, 'written'), journal.record('counters', { key: 'd', value: 4 })];
    await Promise.resolve(); // the flush was queued before this continuation
    expect(appendStaged).toHaveBeenCalledTimes(2); // both changes, one record, before the loop turns
    await Promise.all(written);
    await close();
  });

  it('splits changes over records of at most the body bound (an entry alone over it goes alone), replayed in order', async () => {
    const first = await open();
    const big = (char: string) => char.repeat(400 * 1024);
    // 400 KiB each: two fit in a 1 MiB body, the third starts another; 1.5 MiB goes alone.
    await Promise.all([first.counters.set('a', 1), first.counters.set(big('x'), 2), first.counters.set(big('y'), 3), first.counters.set(big('z'), 4), first.counters.set('z'.repeat(1536 * 1024), 5), first.counters.set('a', 6)]);
    const { records } = await first.store.read(STATE_TOPIC, 0, 0, { countMax: 10 });
    expect(records.map((record) => [record.properties.get('k'), Math.round(record.body.length / 1024)])).toEqual([['b', 800], ['b', 400], ['b', 1536], ['b', 0]]);
    await first.close();
    rmSync(join(temp.path, 'config', 'state-snapshot.json'));
    const second = await open();
    expect(second.counters.values.get('a')).toBe(6);
    expect(second.counters.values.get(big('z'))).toBe(4);
    expect(second.counters.values.size).toBe(5);
    await second.close();
  });

  it('ignores a snapshot file that does not describe this log (a log that lost its tail) and replays instead', async () => {
    const first = await open();
    await first.counters.set('a', 1);
    await first.close();
    // A file from a future the log does not have: it claims more records than the log holds.
    writeFileSync(join(temp.path, 'config', 'state-snapshot.json'), JSON.stringify({ version: 1, nextStateOffset: 5, lastLogOffset: 999, entries: [['counters', { key: 'a', value: 42 }]] }));
    const second = await open();
    expect(second.counters.values.get('a')).toBe(1);
    await second.counters.set('b', 2);
    await second.close();
    const third = await open();
    expect([...third.counters.values]).toEqual([['a', 1], ['b', 2]]);
    await third.close();
  });

  it('writes the whole state into the log again, so retention may drop the segments before it without losing state', async () => {
    const segmentSizeBytes = 8 * 1024 * 1024;
    const first = await open({ segmentSizeBytes });
    await first.counters.set('kept', 7);
    // Fill two segments with messages, then snapshot: the first segment holds no state needed any more.
    const body = Buffer.alloc(512 * 1024);
    for (let i = 0; i < 40; i++) await first.store.append([{ topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: new Map(), body }]);
    await first.journal.snapshot();
    await first.counters.set('after', 8);
    await first.close();
    // Without the snapshot file and the first segment, the retained log alone rebuilds the state.
    rmSync(join(temp.path, 'config', 'state-snapshot.json'));
    rmSync(join(temp.path, 'store', 'commitlog', '00000000000000000000'));
    rmSync(join(temp.path, 'store', 'consumequeue'), { recursive: true, force: true });
    rmSync(join(temp.path, 'store', 'checkpoint.json'), { force: true });
    const second = await open({ segmentSizeBytes });
    expect([...second.counters.values].sort()).toEqual([['after', 8], ['kept', 7]]);
    await second.close();
  });
});
