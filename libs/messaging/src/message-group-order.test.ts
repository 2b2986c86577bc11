import fc from 'fast-check';
import { MessageGroupOrder } from './message-group-order';
import { QueueConsumption } from './queue-consumption';

describe('MessageGroupOrder', () => {
  it('lets the first message of a group through, holds the next until the first is settled', () => {
    const order = new MessageGroupOrder();
    expect(order.admit('a', 0)).toBe(true);
    expect(order.admit('b', 1)).toBe(true);
    expect(order.admit('a', 2)).toBe(false);
    expect(order.admit('a', 3)).toBe(false);
    expect(order.settle('b', 1)).toBeUndefined();
    expect(order.settle('a', 0)).toBe(2);
    expect(order.settle('a', 2)).toBe(3);
    expect(order.settle('a', 3)).toBeUndefined();
    expect(order.groupCount).toBe(0);
  });
});

type Command = { kind: 'read'; countMax: number } | { kind: 'settle'; pick: number } | { kind: 'expire' };

const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('read' as const), countMax: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }),
  fc.constant({ kind: 'expire' as const }),
);

describe('QueueConsumption in FIFO mode', () => {
  it('hands out the messages of each group one at a time, in queue order, and all of them, whatever the interleaving of reads, acks and expiries', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 }), fc.array(arbCommand, { maxLength: 120 }), (groupOf, commands) => {
        const groups = groupOf.map((g) => `g${g}`);
        const state = new QueueConsumption(0, { fifo: true });
        let nowMs = 0;
        let sequence = 0;
        /** Handed out and not settled: offset -> delivery id. */
        const outstanding = new Map<number, string>();
        const settled = new Set<number>();
        const firstHandedOut: number[] = [];

        const handOut = (queueOffset: number, deliveryId: string) => {
          if (!outstanding.has(queueOffset) && !firstHandedOut.includes(queueOffset)) firstHandedOut.push(queueOffset);
          outstanding.set(queueOffset, deliveryId);
        };
        const read = (countMax: number) => {
          for (const { queueOffset, entry } of state.due(nowMs, countMax)) {
            const deliveryId = `d${sequence++}`;
            state.deliver(queueOffset, { deliveryId, visibleAtMs: nowMs + 10, attempt: entry.attempt + 1 });
            handOut(queueOffset, deliveryId);
          }
          for (let i = 0; i < countMax && state.nextOffset < groups.length; i++) {
            const queueOffset = state.nextOffset;
            const deliveryId = `d${sequence++}`;
            if (state.admit(queueOffset, groups[queueOffset], { deliveryId, visibleAtMs: nowMs + 10, attempt: 1 })) handOut(queueOffset, deliveryId);
          }
        };
        const settle = (queueOffset: number) => {
          expect(state.complete(queueOffset, outstanding.get(queueOffset)!)).toBe(true);
          outstanding.delete(queueOffset);
          settled.add(queueOffset);
        };
        const checkInvariants = () => {
          // Per group: at most one handed out, and it is the group's oldest message not settled.
          for (const group of new Set(groups)) {
            const mine = [...outstanding.keys()].filter((offset) => groups[offset] === group);
            expect(mine.length).toBeLessThanOrEqual(1);
            if (mine.length === 1) {
              const oldest = groups.findIndex((g, offset) => g === group && !settled.has(offset));
              expect(mine[0]).toBe(oldest);
            }
          }
        };

        for (const command of commands) {
          if (command.kind === 'read') read(command.countMax);
          else if (command.kind === 'expire') nowMs += 10;
          else if (outstanding.size > 0) settle([...outstanding.keys()][command.pick % outstanding.size]);
          checkInvariants();
        }
        // Drain: everything is eventually handed out and settled.
        for (let round = 0; round < groups.length * 2 + 2 && settled.size < groups.length; round++) {
          read(groups.length);
          checkInvariants();
          for (const queueOffset of [...outstanding.keys()]) settle(queueOffset);
        }
        expect(settled.size).toBe(groups.length);
        expect(state.committedOffset).toBe(groups.length);
        for (const group of new Set(groups)) {
          const handedOut = firstHandedOut.filter((offset) => groups[offset] === group);
          expect(handedOut).toEqual([...handedOut].sort((a, b) => a - b));
        }
      }),
      { numRuns: 300, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );
  });

  it('survives a restart: held messages stay held, a released one stays due, groups keep their order', () => {
    const state = new QueueConsumption(0, { fifo: true });
    expect(state.admit(0, 'a', { deliveryId: 'x', visibleAtMs: 100, attempt: 1 })).toBe(true);
    expect(state.admit(1, 'a', { deliveryId: 'y', visibleAtMs: 100, attempt: 1 })).toBe(false);
    expect(state.admit(2, 'a', { deliveryId: 'z', visibleAtMs: 100, attempt: 1 })).toBe(false);
    const restored = QueueConsumption.restore(JSON.parse(JSON.stringify(state.snapshot())), 3, { fifo: true });
    expect(restored.due(50, 10)).toEqual([]);
    expect(restored.complete(0, 'x')).toBe(true);
    expect(restored.due(50, 10).map((d) => d.queueOffset)).toEqual([1]);
    const again = QueueConsumption.restore(JSON.parse(JSON.stringify(restored.snapshot())), 3, { fifo: true });
    expect(again.due(50, 10).map((d) => d.queueOffset)).toEqual([1]);
    again.deliver(1, { deliveryId: 'y2', visibleAtMs: 100, attempt: 1 });
    expect(again.complete(1, 'y2')).toBe(true);
    expect(again.due(50, 10).map((d) => d.queueOffset)).toEqual([2]);
  });
});
