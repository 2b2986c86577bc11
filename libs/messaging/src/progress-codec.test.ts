import fc from 'fast-check';
import type { ProgressChange, ProgressKey } from './consumer-progress';
import { PendingBodies, readChangeBody, type Entry } from './state/change-body';
import {
  PROGRESS_BINARY_TYPE, decodeProgressChange, entryBytesMax, writeAdmit, writeComplete, writeDeliver, writeExtend, writeRenew, writeSkip,
} from './progress-codec';

type BinaryChange = Extract<ProgressChange, { op: 'admit' | 'deliver' | 'skip' | 'complete' | 'renew' | 'extend' }>;

/** Writes a change as ConsumerProgress does; `token` stands for its key. False: the bytes could not carry it. */
function write(pending: PendingBodies, change: BinaryChange, token: object): boolean {
  const key: ProgressKey = change.m === undefined ? { g: change.g, t: change.t, q: change.q } : { g: change.g, t: change.t, q: change.q, m: change.m };
  switch (change.op) {
    case 'admit':
      writeAdmit(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key, change.d, change.mg)), key, token, change.o, change.mg, change.d, change.v, change.a);
      break;
    case 'deliver':
      writeDeliver(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key, change.d)), key, token, change.o, change.d, change.v, change.a);
      break;
    case 'skip':
      writeSkip(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key)), key, token, change.to);
      break;
    case 'complete':
      writeComplete(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key, change.d)), key, token, change.o, change.d);
      break;
    case 'renew':
      writeRenew(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key, change.old, change.d)), key, token, change.o, change.old, change.d, change.v, change.a);
      break;
    case 'extend':
      writeExtend(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(key, change.d)), key, token, change.o, change.d, change.v);
      break;
  }
  return pending.end();
}

function readAll(bodies: Buffer[]): Entry[] {
  const entries: Entry[] = [];
  for (const body of bodies) {
    readChangeBody(body, {
      json: (entry) => entries.push(entry),
      binary: (type, reader) => {
        expect(type).toBe(PROGRESS_BINARY_TYPE);
        entries.push(['progress', decodeProgressChange(reader)]);
      },
    });
  }
  return entries;
}

/** The change as it reads back: a key without a member has `m` undefined, an admit without a group no `mg`. */
function normalized(change: ProgressChange): ProgressChange {
  const copy = { ...change } as Record<string, unknown>;
  for (const field of ['m', 'mg']) if (copy[field] === undefined) delete copy[field];
  return copy as unknown as ProgressChange;
}

const name = fc.oneof(
  fc.constantFrom('g', 'pb-g-mxdc7wq3-9ed055', 'TopicA', '%RETRY%g1', '消费者组', 'grüße', '🚀'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constant('n'.repeat(3000)),
);
const offset = fc.oneof(fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER), fc.nat(), fc.maxSafeNat());
const deliveryId = fc.oneof(fc.constantFrom('', '9f3a1c0e-2s', 'd1'), fc.string({ unit: 'grapheme', maxLength: 20 }));
const key = fc.record({ g: name, t: name, q: fc.oneof(fc.nat({ max: 7 }), fc.constantFrom(255, 2 ** 31 - 1)), m: fc.option(name, { nil: undefined }) });
const change: fc.Arbitrary<BinaryChange> = fc.tuple(key, fc.nat({ max: 5 })).chain(([k, op]): fc.Arbitrary<BinaryChange> => {
  const base = { g: k.g, t: k.t, q: k.q, m: k.m };
  switch (op) {
    case 0:
      return fc.record({ o: offset, d: deliveryId, v: offset, a: fc.nat({ max: 1000 }), mg: fc.option(name, { nil: undefined }) }).map((f) => ({ ...base, op: 'admit' as const, ...f }));
    case 1:
      return fc.record({ o: offset, d: deliveryId, v: offset, a: fc.nat() }).map((f) => ({ ...base, op: 'deliver' as const, ...f }));
    case 2:
      return offset.map((to) => ({ ...base, op: 'skip' as const, to }));
    case 3:
      return fc.record({ o: offset, d: deliveryId }).map((f) => ({ ...base, op: 'complete' as const, ...f }));
    case 4:
      return fc.record({ o: offset, old: deliveryId, d: deliveryId, v: offset, a: fc.nat() }).map((f) => ({ ...base, op: 'renew' as const, ...f }));
    default:
      return fc.record({ o: offset, d: deliveryId, v: offset }).map((f) => ({ ...base, op: 'extend' as const, ...f }));
  }
});

describe('progress codec', () => {
  it('reads back every change, every field, in order, among JSON changes, with keys defined once per record', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 5, arbitrary: change }, { weight: 1, arbitrary: fc.record({ json: fc.jsonValue() }) }), { maxLength: 80 }), fc.constantFrom(64, 1024, 1 << 20), (items, bodyBytesMax) => {
        const pending = new PendingBodies(bodyBytesMax);
        // One token per distinct key, as one queue state stands for its key.
        const tokens = new Map<string, object>();
        const expected: Entry[] = [];
        for (const item of items) {
          if ('json' in item) {
            pending.json('other', item.json);
            expected.push(['other', JSON.parse(JSON.stringify(item.json ?? null)) as unknown]);
            continue;
          }
          const id = JSON.stringify([item.g, item.t, item.q, item.m ?? null]);
          if (!tokens.has(id)) tokens.set(id, {});
          expect(write(pending, item, tokens.get(id)!)).toBe(true);
          expected.push(['progress', normalized(item)]);
        }
        const bodies = pending.take();
        expect(pending.isEmpty).toBe(true);
        if (items.length === 0) expect(bodies).toEqual([]);
        // A body over its bound holds a single entry.
        for (const body of bodies) if (body.length > bodyBytesMax) expect(readAll([body])).toHaveLength(1);
        expect(readAll(bodies).map(([section, value]) => [section, section === 'progress' ? normalized(value as ProgressChange) : value])).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('writes a key once per record: an ack of a known queue takes a few bytes beside its delivery id', () => {
    const pending = new PendingBodies(1 << 20);
    const token = {};
    const k = { g: 'pb-g-mxdc7wq3-9ed055', t: 'pb-mxdc7wq3-9ed055', q: 3 };
    writeComplete(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(k, 'x')), k, token, 1, 'a1b2c3d4-1');
    pending.end();
    const first = pending.take()[0].length;
    writeComplete(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(k, 'x')), k, token, 1, 'a1b2c3d4-1');
    writeComplete(pending.begin(PROGRESS_BINARY_TYPE, entryBytesMax(k, 'x')), k, token, 100_000, 'a1b2c3d4-2');
    pending.end();
    const [body] = pending.take();
    // version, then per entry: type, op, key (defined in the first), offset, delivery id.
    expect(first).toBe(1 + 1 + 1 + 1 + (1 + 20) + (1 + 18) + 1 + 1 + 1 + 11);
    expect(body.length - first).toBe(1 + 1 + 1 + 3 + 11);
  });

  it('leaves out a change whose values the bytes cannot carry, so it can be recorded as JSON', () => {
    const pending = new PendingBodies(1 << 20);
    const k = { g: 'g', t: 't', q: 0 };
    expect(write(pending, { ...k, op: 'complete', o: 1, d: 'ok' }, k)).toBe(true);
    expect(write(pending, { ...k, op: 'admit', o: 2, d: 'x', v: 1.5, a: 1 }, k)).toBe(false);
    expect(write(pending, { ...k, op: 'complete', o: 3, d: 'lone \ud800' }, {})).toBe(false);
    expect(write(pending, { ...k, op: 'skip', to: -1 }, {})).toBe(false);
    expect(readAll(pending.take())).toEqual([['progress', { ...k, m: undefined, op: 'complete', o: 1, d: 'ok' }]]);
  });

  it('refuses an unknown op, a reference to a key not yet defined, and a record cut short', () => {
    const read = (bytes: number[]) => () => readAll([Buffer.from([1, PROGRESS_BINARY_TYPE, ...bytes])]);
    expect(read([99, 0])).toThrow(/unknown op 99/);
    expect(read([5, 3])).toThrow(/refers to key 3, but the record defined 0/);
    expect(read([5, 0, 1, 0x67, 1, 0x74, 0, 7])).toThrow(/unknown kind 7/);
    expect(read([5, 0, 1, 0x67])).toThrow(/ends inside a value/);
    expect(() => readAll([Buffer.from([2])])).toThrow(/format version is 2/);
  });
});
