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
