// The formats of state change records: JSON lists (kind `c`, written by brokers before binary
// records) still recover, binary records (kind `b`) follow them in the same log, a change the
// bytes cannot carry goes in as JSON, and a record this broker cannot read stops it clearly.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_TOPIC, type Clock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { makeTempDir } from '@rmq/testing';
import { openBrokerState } from '../broker-state';
import type { ProgressKey } from '../consumer-progress';

const KEY: ProgressKey = { g: 'pb-g-1', t: 'pb-topic', q: 0 };
const MEMBER_KEY: ProgressKey = { g: 'bc-grüße', t: 'pb-topic', q: 1, m: 'client@host-1' };

describe('state change record formats', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('journal-formats')));
  afterEach(() => temp.remove());

  const clock: Clock = { nowMs: () => 5_000_000 };

  const openStore = () => MessageStore.open({ dataDir: join(temp.path, 'store'), flushMode: 'sync' });

  async function openBroker() {
    const store = await openStore();
    const state = await openBrokerState({
      store, dataDir: temp.path, clock, autoCreateGroups: true,
      groupDefaults: () => ({ maxAttempts: 16, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
    });
    const close = async (options: { keepSnapshotFile?: boolean } = {}) => {
      await state.journal.close();
      await store.close();
      if (!options.keepSnapshotFile) rmSync(join(temp.path, 'config', 'state-snapshot.json'), { force: true }); // replay from the log alone
    };
    return { store, state, close };
  }

  /** State records of the given kind and bodies, appended as a broker would have. */
  async function appendStateRecords(records: { kind: string; body: Buffer }[]): Promise<void> {
    const store = await openStore();
    // Ten messages in each queue the progress below refers to.
    for (const queueId of [0, 1]) {
      await store.append(Array.from({ length: 10 }, (_, i) => ({ topic: 'pb-topic', queueId, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: new Map(), body: Buffer.from(`m${i}`) })));
    }
    await store.append(records.map(({ kind, body }) => ({ topic: STATE_TOPIC, queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: new Map([['k', kind]]), body })));
    await store.close();
  }

  async function stateBodies(): Promise<string[]> {
    const store = await openStore();
    const { records } = await store.read(STATE_TOPIC, 0, 0, { countMax: 1000 });
    await store.close();
    return records.map((record) => record.body.toString('latin1'));
  }

  async function stateKinds(): Promise<string[]> {
    const store = await openStore();
    const { records } = await store.read(STATE_TOPIC, 0, 0, { countMax: 1000 });
    await store.close();
    return records.map((record) => record.properties.get('k') ?? '?');
  }

  it('recovers consumer progress from JSON change records written by an older broker, then writes binary records after them', async () => {
    // Exactly what brokers before binary records wrote: one JSON list of [section, change] per record.
    const json = (entries: unknown[]) => ({ kind: 'c', body: Buffer.from(JSON.stringify(entries)) });
    await appendStateRecords([
      json([
        ['receiptKey', { op: 'set', key: Buffer.alloc(32, 7).toString('base64') }],
        ['progress', { ...KEY, op: 'start', o: 0, f: false }],
        ...[0, 1, 2, 3, 4].map((o) => ['progress', { ...KEY, op: 'admit', o, d: `old-${o}`, v: 6_000_000 + o, a: 1 }]),
        ['progress', { ...MEMBER_KEY, op: 'start', o: 0, f: false }],
        ['progress', { ...MEMBER_KEY, op: 'skip', to: 4 }],
      ]),
      json([
        ['progress', { ...KEY, op: 'complete', o: 0, d: 'old-0' }],
        ['progress', { ...KEY, op: 'complete', o: 1, d: 'old-1' }],
        ['progress', { ...KEY, op: 'renew', o: 2, old: 'old-2', d: 'old-2b', v: 7_000_000, a: 1 }],
        ['progress', { ...KEY, op: 'extend', o: 3, d: 'old-3', v: 8_000_000 }],
        ['progress', { ...KEY, op: 'deliver', o: 4, d: 'old-4b', v: 9_000_000, a: 2 }],
      ]),
    ]);

    const first = await openBroker();
    const state = first.state.progress.peek(KEY)!;
    expect(first.state.receiptKey.value).toEqual(Buffer.alloc(32, 7));
    expect({ committed: state.committedOffset, next: state.nextOffset, inflight: state.inflightCount }).toEqual({ committed: 2, next: 5, inflight: 3 });
    expect(state.current(2)).toEqual({ deliveryId: 'old-2b', visibleAtMs: 7_000_000, attempt: 1 });
    expect(state.current(3)).toEqual({ deliveryId: 'old-3', visibleAtMs: 8_000_000, attempt: 1 });
    expect(state.current(4)).toEqual({ deliveryId: 'old-4b', visibleAtMs: 9_000_000, attempt: 2 });
    expect(first.state.progress.peek(MEMBER_KEY)?.committedOffset).toBe(4);

    // New changes go out in binary records after the old ones.
    await first.state.progress.complete(KEY, state, 2, 'old-2b');
    await first.state.progress.admit(KEY, state, 5, undefined, { deliveryId: 'new-5', visibleAtMs: 2 ** 40 + 5, attempt: 1 }).written;
    await first.state.progress.complete(KEY, state, 3, 'old-3');
    const member = first.state.progress.peek(MEMBER_KEY)!;
    await first.state.progress.admit(MEMBER_KEY, member, 4, undefined, { deliveryId: 'm-4', visibleAtMs: 1, attempt: 1 }).written;
    await first.close();
    expect(await stateKinds()).toEqual(['c', 'c', 'b', 'b', 'b', 'b']);

    // The log alone (old and new records) rebuilds the same state.
    const second = await openBroker();
    const replayed = second.state.progress.peek(KEY)!;
    expect({ committed: replayed.committedOffset, next: replayed.nextOffset, inflight: replayed.inflightCount }).toEqual({ committed: 4, next: 6, inflight: 2 });
    expect(replayed.current(5)).toEqual({ deliveryId: 'new-5', visibleAtMs: 2 ** 40 + 5, attempt: 1 });
    expect(second.state.progress.peek(MEMBER_KEY)?.current(4)).toEqual({ deliveryId: 'm-4', visibleAtMs: 1, attempt: 1 });
    expect([...second.state.progress.totals.list()].map(({ committedSum, nextSum, inflight }) => ({ committedSum, nextSum, inflight }))).toEqual([{ committedSum: 4, nextSum: 6, inflight: 2 }]);
    await second.close();
  });

  it('records as JSON a change whose values the bytes cannot carry, and replays it', async () => {
    const first = await openBroker();
    const state = first.state.progress.state(KEY, false);
    // A deadline with a fraction of a millisecond (a clock that has them) is no integer for a varint.
    await first.state.progress.admit(KEY, state, 0, undefined, { deliveryId: 'd0', visibleAtMs: 5_001_000.5, attempt: 1 }).written;
    await first.state.progress.admit(KEY, state, 1, undefined, { deliveryId: 'd1', visibleAtMs: 5_001_000, attempt: 1 }).written;
    await first.close();
    const bodies = await stateBodies();
    expect(bodies.filter((body) => body.includes('"op":"admit"'))).toHaveLength(1); // d0 as JSON, d1 in bytes
    expect(bodies.filter((body) => body.includes('"d0"'))).toHaveLength(1);
    const second = await openBroker();
    const replayed = second.state.progress.peek(KEY)!;
    expect(replayed.current(0)).toEqual({ deliveryId: 'd0', visibleAtMs: 5_001_000.5, attempt: 1 });
    expect(replayed.current(1)).toEqual({ deliveryId: 'd1', visibleAtMs: 5_001_000, attempt: 1 });
    await second.close();
  });

  it('stops at start on a binary record it cannot read, saying why', async () => {
    for (const [body, reason] of [
      [Buffer.from([9, 1]), /format version is 9.*newer broker/],
      [Buffer.from([1, 200, 0]), /unknown binary type 200.*newer broker/],
      [Buffer.from([1, 1, 5, 0, 3, 0x61]), /log offset \d+ cannot be read: a string at byte 5 runs past the end/],
      [Buffer.from([1, 0, 3, 0x5b, 0x31, 0x5d]), /not a \[section, change\] pair/],
    ] as const) {
      temp.remove();
      temp = makeTempDir('journal-formats');
      await appendStateRecords([{ kind: 'b', body }]);
      const refused = await openBroker().then(() => undefined, (error: unknown) => error);
      expect(refused).toMatchObject({ code: 'STATE_UNREADABLE' });
      expect(String(refused)).toMatch(reason);
    }
  });
});
