import fc from 'fast-check';
import { DeadlineHeap, type DeadlineEntry } from './deadline-heap';

type Op = { kind: 'push'; visibleAtMs: number; stale: boolean } | { kind: 'take' } | { kind: 'peek' } | { kind: 'rebuild' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), visibleAtMs: fc.integer({ min: 0, max: 50 }), stale: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'take' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'peek' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rebuild' as const }) },
);

const order = (a: DeadlineEntry, b: DeadlineEntry) => a.visibleAtMs - b.visibleAtMs || a.queueOffset - b.queueOffset;

describe('DeadlineHeap', () => {
  it('gives the earliest current entry (lower offset on a tie) like a sorted list, whatever order deadlines come in', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.boolean(), (ops, rising) => {
        const heap = new DeadlineHeap();
        // Entries made stale (superseded) are never current again, as in QueueConsumption.
        const stale = new Set<DeadlineEntry>();
        const isCurrent = (entry: DeadlineEntry) => !stale.has(entry);
        let live: DeadlineEntry[] = [];
        let offset = 0;
        let base = 0;
        for (const step of ops) {
          if (step.kind === 'push') {
            // Mostly in order (the run), sometimes earlier than the last pushed (the heap).
            if (rising) base += step.visibleAtMs % 3;
            const entry = { visibleAtMs: rising && step.visibleAtMs > 5 ? base : step.visibleAtMs, queueOffset: offset++, deliveryId: `d${offset}` };
            heap.push(entry);
            if (step.stale) stale.add(entry);
            else live.push(entry);
          } else if (step.kind === 'peek' || step.kind === 'take') {
            live.sort(order);
            expect(heap.peek(isCurrent)).toBe(live[0]);
            // As QueueConsumption.due: the top, once peeked (current), is popped.
            if (step.kind === 'take') expect(heap.pop()).toBe(live.shift());
          } else {
            live = live.filter((entry) => entry.queueOffset % 2 === 0);
            heap.rebuild(live);
            stale.clear();
          }
          expect(heap.size).toBeGreaterThanOrEqual(live.length);
          if (step.kind === 'rebuild') expect(heap.size).toBe(live.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a long run of in-order deadlines in order through compaction', () => {
    const heap = new DeadlineHeap();
    for (let i = 0; i < 5_000; i++) heap.push({ visibleAtMs: i, queueOffset: i, deliveryId: '' });
    for (let i = 0; i < 3_000; i++) expect(heap.pop()?.queueOffset).toBe(i);
    heap.push({ visibleAtMs: 10, queueOffset: 9_999, deliveryId: '' }); // earlier than the run's tail: the heap
    expect(heap.pop()?.queueOffset).toBe(9_999);
    for (let i = 3_000; i < 5_000; i++) expect(heap.pop()?.queueOffset).toBe(i);
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
  });
});
