import fc from 'fast-check';
import { QueueConsumption } from './queue-consumption';

describe('QueueConsumption', () => {
  it('commits only up to the first offset still in flight', () => {
    const state = new QueueConsumption(0);
    for (const offset of [0, 1, 2]) state.deliver(offset, { deliveryId: `d${offset}`, visibleAtMs: 100, attempt: 1 });
    expect(state.complete(1, 'd1')).toBe(true);
    expect(state.committedOffset).toBe(0);
    expect(state.complete(0, 'd0')).toBe(true);
    expect(state.committedOffset).toBe(2);
  });

  it('refuses a stale delivery id after the message was handed out again', () => {
    const state = new QueueConsumption(0);
    state.deliver(0, { deliveryId: 'first', visibleAtMs: 100, attempt: 1 });
    expect(state.due(100, 10)).toHaveLength(1);
    state.deliver(0, { deliveryId: 'second', visibleAtMs: 200, attempt: 2 });
    expect(state.complete(0, 'first')).toBe(false);
    expect(state.complete(0, 'second')).toBe(true);
  });

  it('hands out an offset redelivered with the same deadline once, and nothing of it once acked', () => {
    const state = new QueueConsumption(0);
    state.deliver(0, { deliveryId: 'first', visibleAtMs: 100, attempt: 1 });
    state.deliver(1, { deliveryId: 'other', visibleAtMs: 150, attempt: 1 });
    state.deliver(0, { deliveryId: 'second', visibleAtMs: 100, attempt: 2 }); // the old deadline entry matches the new one
    expect(state.due(100, 10).map(({ queueOffset, entry }) => [queueOffset, entry.deliveryId])).toEqual([[0, 'second']]);
    expect(state.due(200, 10).map(({ queueOffset }) => queueOffset)).toEqual([0, 1]);
    expect(state.complete(0, 'second')).toBe(true);
    expect(state.hasDue(120)).toBe(false);
    expect(state.nextVisibleAtMs()).toBe(150);
    expect(state.due(200, 10).map(({ queueOffset }) => queueOffset)).toEqual([1]);
  });

  it('finds due offsets like a scan of everything in flight, through redeliveries, extensions and acks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom('deliver', 'redeliver', 'extend', 'ack', 'due'), pick: fc.nat(), ms: fc.nat(40) }), { maxLength: 200 }),
        (ops) => {
          const state = new QueueConsumption(0);
          const inflight = new Map<number, { deliveryId: string; visibleAtMs: number }>();
          let next = 0;
          let id = 0;
          for (const { kind, pick, ms } of ops) {
            const offsets = [...inflight.keys()];
            const offset = offsets[pick % Math.max(1, offsets.length)];
            if (kind === 'deliver' || offset === undefined) {
              const entry = { deliveryId: `d${id++}`, visibleAtMs: ms, attempt: 1 };
              state.deliver(next, { ...entry });
              inflight.set(next++, entry);
            } else if (kind === 'redeliver') {
              const entry = { deliveryId: `d${id++}`, visibleAtMs: ms, attempt: 2 };
              state.deliver(offset, { ...entry });
              inflight.set(offset, entry);
            } else if (kind === 'extend') {
              expect(state.extend(offset, inflight.get(offset)!.deliveryId, ms)).toBe(true);
              inflight.get(offset)!.visibleAtMs = ms;
            } else if (kind === 'ack') {
              expect(state.complete(offset, inflight.get(offset)!.deliveryId)).toBe(true);
              inflight.delete(offset);
            }
            const expected = [...inflight].filter(([, entry]) => entry.visibleAtMs <= ms).map(([queueOffset]) => queueOffset).sort((a, b) => a - b);
            expect(state.due(ms, 1_000).map(({ queueOffset }) => queueOffset)).toEqual(expected);
            const earliest = Math.min(...[...inflight.values()].map((entry) => entry.visibleAtMs));
            expect(state.nextVisibleAtMs()).toBe(inflight.size > 0 ? earliest : undefined);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps committedOffset = lowest offset not done, whatever the order of acks and skips', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 80 }), (delivered, ackPicks) => {
        const state = new QueueConsumption(0);
        const inflight: number[] = [];
        delivered.forEach((deliver, offset) => {
          if (!deliver) return;
          state.skipTo(offset);
          state.deliver(offset, { deliveryId: String(offset), visibleAtMs: 0, attempt: 1 });
          inflight.push(offset);
        });
        state.skipTo(delivered.length);
        for (const pick of ackPicks) {
          if (inflight.length === 0) break;
          const [offset] = inflight.splice(pick % inflight.length, 1);
          expect(state.complete(offset, String(offset))).toBe(true);
        }
        const lowestOpen = inflight.length > 0 ? Math.min(...inflight) : delivered.length;
        expect(state.committedOffset).toBe(lowestOpen);
      }),
      { numRuns: 300 },
    );
  });

  it('restores what it saved, so acks with handles issued before a restart still work', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('deliver', 'skip', 'ack'), { maxLength: 60 }), (steps) => {
        const state = new QueueConsumption(0);
        let offset = 0;
        const inflight: number[] = [];
        for (const step of steps) {
          if (step === 'deliver') {
            state.deliver(offset, { deliveryId: `d${offset}`, visibleAtMs: 1_000 + offset, attempt: 1 });
            inflight.push(offset++);
          } else if (step === 'skip') state.skipTo(++offset);
          else if (inflight.length > 0) {
            const acked = inflight.shift()!;
            state.complete(acked, `d${acked}`);
          }
        }
        const restored = QueueConsumption.restore(JSON.parse(JSON.stringify(state.snapshot())), offset);
        expect(restored.snapshot()).toEqual(state.snapshot());
        for (const queueOffset of inflight) {
          if (state.current(queueOffset)) expect(restored.complete(queueOffset, `d${queueOffset}`)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('clamps a restored state to a queue that lost its tail', () => {
    const state = new QueueConsumption(0);
    for (const offset of [0, 1, 2, 3]) state.deliver(offset, { deliveryId: `d${offset}`, visibleAtMs: 5, attempt: 1 });
    const restored = QueueConsumption.restore(state.snapshot(), 2);
    expect(restored.nextOffset).toBe(2);
    expect(restored.current(3)).toBeUndefined();
    expect(restored.current(1)?.deliveryId).toBe('d1');
  });
});

describe('QueueConsumption against a simple model', () => {
  type Step = { kind: 'new'; skip: number } | { kind: 'ack'; pick: number } | { kind: 'redeliver'; nowMs: number } | { kind: 'renew'; pick: number; visibleAtMs: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('new' as const), skip: fc.nat(5) }),
    fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }),
    fc.record({ kind: fc.constant('redeliver' as const), nowMs: fc.nat(100) }),
    fc.record({ kind: fc.constant('renew' as const), pick: fc.nat(), visibleAtMs: fc.nat(100) }),
  );

  it('committed offset, in-flight set, due order and saved state agree with a per-offset model', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), fc.nat(1_000_000), (steps, start) => {
        const state = new QueueConsumption(start);
        const model = new Map<number, { deliveryId: string; visibleAtMs: number } | 'done'>();
        let next = start;
        let sequence = 0;
        for (const s of steps) {
          const open = [...model].filter(([, v]) => v !== 'done').map(([offset]) => offset).sort((a, b) => a - b);
          if (s.kind === 'new') {
            for (let i = 0; i < s.skip; i++) model.set(next + i, 'done');
            state.skipTo(next + s.skip);
            next += s.skip;
            const entry = { deliveryId: `d${sequence++}`, visibleAtMs: (sequence * 7) % 100, attempt: 1 };
            state.deliver(next, entry);
            model.set(next++, { deliveryId: entry.deliveryId, visibleAtMs: entry.visibleAtMs });
          } else if (s.kind === 'ack' && open.length > 0) {
            const offset = open[s.pick % open.length];
            const current = model.get(offset) as { deliveryId: string };
            expect(state.complete(offset, 'stale')).toBe(false);
            expect(state.complete(offset, current.deliveryId)).toBe(true);
            model.set(offset, 'done');
          } else if (s.kind === 'renew' && open.length > 0) {
            const offset = open[s.pick % open.length];
            const current = model.get(offset) as { deliveryId: string };
            expect(state.extend(offset, current.deliveryId, s.visibleAtMs)).toBe(true);
            model.set(offset, { deliveryId: current.deliveryId, visibleAtMs: s.visibleAtMs });
          } else if (s.kind === 'redeliver') {
            const due = state.due(s.nowMs, 1_000).map(({ queueOffset }) => queueOffset);
            const expected = open.filter((offset) => (model.get(offset) as { visibleAtMs: number }).visibleAtMs <= s.nowMs);
            expect(due).toEqual(expected);
            for (const offset of due) {
              const entry = { deliveryId: `d${sequence++}`, visibleAtMs: s.nowMs + 50, attempt: 2 };
              state.deliver(offset, entry);
              model.set(offset, { deliveryId: entry.deliveryId, visibleAtMs: entry.visibleAtMs });
            }
          }
          let committed = start;
          while (model.get(committed) === 'done') committed++;
          expect(state.committedOffset).toBe(committed);
          expect(state.nextOffset).toBe(next);
          const openNow = [...model.values()].filter((v) => v !== 'done') as { visibleAtMs: number }[];
          expect(state.inflightCount).toBe(openNow.length);
          expect(state.nextVisibleAtMs()).toBe(openNow.length === 0 ? undefined : Math.min(...openNow.map((v) => v.visibleAtMs)));
          // Done offsets above the committed one take at most one range per gap between open offsets.
          expect(state.doneRangeCount).toBeLessThanOrEqual(state.inflightCount + 1);
        }
        const restored = QueueConsumption.restore(JSON.parse(JSON.stringify(state.snapshot())), next);
        expect(restored.snapshot()).toEqual(state.snapshot());
        expect(restored.nextVisibleAtMs()).toBe(state.nextVisibleAtMs());
      }),
      { numRuns: 300 },
    );
  });

  it('skips a gap of 2^40 offsets at once, with nothing per offset', () => {
    const state = new QueueConsumption(0);
    state.deliver(0, { deliveryId: 'a', visibleAtMs: 5, attempt: 1 });
    state.skipTo(2 ** 40);
    expect(state.doneRangeCount).toBe(1);
    state.complete(0, 'a');
    expect(state.committedOffset).toBe(2 ** 40);
  });

  it('reads saves of older brokers, whose done offsets are single numbers', () => {
    const restored = QueueConsumption.restore({ committedOffset: 0, nextOffset: 4, inflight: [[0, 'x', 9, 1]], done: [1, 2, 3] }, 10);
    expect(restored.complete(0, 'x')).toBe(true);
    expect(restored.committedOffset).toBe(4);
  });
});
