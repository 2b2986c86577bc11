import fc from 'fast-check';
import { DeadlineHeap } from './deadline-heap';

type Op = { kind: 'push'; visibleAtMs: number; stale: boolean } | { kind: 'take' } | { kind: 'peek' } | { kind: 'rebuild' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), visibleAtMs: fc.integer({ min: 0, max: 50 }), stale: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'take' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'peek' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rebuild' as const }) },
);

interface Entry {
  visibleAtMs: number;
  queueOffset: number;
}

const order = (a: Entry, b: Entry) => a.visibleAtMs - b.visibleAtMs || a.queueOffset - b.queueOffset;

describe('DeadlineHeap', () => {
  it('gives the earliest current entry (lower offset on a tie) like a sorted list, whatever order deadlines come in', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.boolean(), (ops, rising) => {
        const heap = new DeadlineHeap();
        // Entries made stale (superseded) are never current again, as in QueueConsumption (each offset is pushed once here).
        const stale = new Set<number>();
        const isCurrent = (_visibleAtMs: number, queueOffset: number) => !stale.has(queueOffset);
        let live: Entry[] = [];
        let offset = 0;
        let base = 0;
        for (const step of ops) {
          if (step.kind === 'push') {
            // Mostly in order (the run), sometimes earlier than the last pushed (the heap).
            if (rising) base += step.visibleAtMs % 3;
            const entry = { visibleAtMs: rising && step.visibleAtMs > 5 ? base : step.visibleAtMs, queueOffset: offset++ };
            heap.push(entry.visibleAtMs, entry.queueOffset);
            if (step.stale) stale.add(entry.queueOffset);
            else live.push(entry);
          } else if (step.kind === 'peek' || step.kind === 'take') {
            live.sort(order);
            const found = heap.peek(isCurrent);
            expect(found).toBe(live.length > 0);
            if (found) expect({ visibleAtMs: heap.topVisibleAtMs, queueOffset: heap.topQueueOffset }).toEqual(live[0]);
            // As QueueConsumption.due: the top, once peeked (current), is popped.
            if (step.kind === 'take') {
              expect(heap.pop()).toBe(live.length > 0);
              live.shift();
            }
          } else {
            live = live.filter((entry) => entry.queueOffset % 2 === 0);
            heap.clear();
            for (const entry of live) heap.push(entry.visibleAtMs, entry.queueOffset);
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
    const all = () => true;
    const popOffset = () => (heap.peek(all) ? (heap.pop(), heap.topQueueOffset) : undefined);
    for (let i = 0; i < 5_000; i++) heap.push(i, i);
    for (let i = 0; i < 3_000; i++) expect(popOffset()).toBe(i);
    heap.push(10, 9_999); // earlier than the run's tail: the heap
    expect(popOffset()).toBe(9_999);
    for (let i = 3_000; i < 5_000; i++) expect(popOffset()).toBe(i);
    expect(heap.size).toBe(0);
    expect(heap.peek(all)).toBe(false);
    expect(heap.pop()).toBe(false);
  });

  it('orders deadlines pushed out of order as a heap, ties by the lower offset', () => {
    const heap = new DeadlineHeap();
    const pushed = Array.from({ length: 2_000 }, (_, i) => ({ visibleAtMs: (i * 7919) % 97, queueOffset: i }));
    for (const { visibleAtMs, queueOffset } of pushed) heap.push(visibleAtMs, queueOffset);
    const taken: Entry[] = [];
    while (heap.peek(() => true)) {
      taken.push({ visibleAtMs: heap.topVisibleAtMs, queueOffset: heap.topQueueOffset });
      heap.pop();
    }
    expect(taken).toEqual([...pushed].sort(order));
  });
});
