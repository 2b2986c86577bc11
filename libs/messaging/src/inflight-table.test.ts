import fc from 'fast-check';
import { INFLIGHT_SLOTS_MAX, InflightTable } from './inflight-table';

const sorted = <T>(table: InflightTable<T>) => [...table.entries()].sort((a, b) => a[0] - b[0]);

describe('InflightTable', () => {
  it('keeps, replaces and deletes entries by offset, with their count', () => {
    const table = new InflightTable<string>(10);
    expect(table.get(10)).toBeUndefined();
    expect(table.delete(10)).toBe(false);
    table.set(10, 'a');
    table.set(12, 'c'); // 11 skipped: an empty slot
    table.set(10, 'a2');
    expect(table.size).toBe(2);
    expect([table.get(10), table.get(11), table.get(12), table.get(13), table.get(9)]).toEqual(['a2', undefined, 'c', undefined, undefined]);
    expect(table.delete(10)).toBe(true);
    expect(table.delete(10)).toBe(false);
    expect(table.size).toBe(1);
    expect(sorted(table)).toEqual([[12, 'c']]);
    expect(table.keys()).toEqual([12]);
  });

  it('keeps an offset too far above its base, or below it, in the Map, where it stays when set again', () => {
    const table = new InflightTable<string>(0);
    table.set(0, 'near');
    table.set(INFLIGHT_SLOTS_MAX, 'far');
    table.set(2 ** 40, 'farther');
    expect(table.size).toBe(3);
    expect(table.get(INFLIGHT_SLOTS_MAX)).toBe('far');
    // The base moves past 0; the far offsets are now within reach of the slots, but stay where they are.
    expect(table.delete(0)).toBe(true);
    table.dropBelow(INFLIGHT_SLOTS_MAX - 5);
    table.set(INFLIGHT_SLOTS_MAX, 'far2');
    table.set(INFLIGHT_SLOTS_MAX - 5, 'near2');
    expect(table.size).toBe(3);
    expect(sorted(table)).toEqual([[INFLIGHT_SLOTS_MAX - 5, 'near2'], [INFLIGHT_SLOTS_MAX, 'far2'], [2 ** 40, 'farther']]);
    expect(table.delete(INFLIGHT_SLOTS_MAX)).toBe(true);
    expect(table.get(INFLIGHT_SLOTS_MAX)).toBeUndefined();
    expect(table.size).toBe(2);
  });

  it('drops the slots below the committed offset, so the array follows the queue: wrapped many times over', () => {
    const table = new InflightTable<number>(0);
    // A window of 300 in flight moving over 20 times the slot limit, acked in order.
    const window = 300;
    for (let offset = 0; offset < 20 * INFLIGHT_SLOTS_MAX; offset++) {
      table.set(offset, offset);
      if (offset >= window) {
        const acked = offset - window;
        expect(table.get(acked)).toBe(acked);
        expect(table.delete(acked)).toBe(true);
        table.dropBelow(acked + 1);
      }
    }
    expect(table.size).toBe(window);
    expect(sorted(table).map(([offset]) => offset)).toEqual(Array.from({ length: window }, (_, i) => 20 * INFLIGHT_SLOTS_MAX - window + i));
    // Nothing went to the Map: the array never spanned more than the window plus the slack it drops at.
    expect((table as unknown as { far: Map<number, number> }).far.size).toBe(0);
    expect((table as unknown as { slots: unknown[] }).slots.length).toBeLessThan(2 * window + 600);
  });

  it('starts over at the committed offset once nothing below it is left in the slots', () => {
    const table = new InflightTable<string>(5);
    table.set(5, 'a');
    table.set(6, 'b');
    table.delete(5);
    table.delete(6);
    table.dropBelow(1_000_000);
    table.set(1_000_000, 'c');
    expect((table as unknown as { far: Map<number, string> }).far.size).toBe(0);
    expect(sorted(table)).toEqual([[1_000_000, 'c']]);
    table.dropBelow(3); // below its base: nothing
    expect(table.get(1_000_000)).toBe('c');
  });

  it('refuses to drop slots that still hold entries (the caller said nothing below was in flight)', () => {
    const table = new InflightTable<string>(0);
    table.set(0, 'a');
    expect(() => table.dropBelow(1)).toThrow(/still in flight/);
    for (let offset = 1; offset < 600; offset++) table.set(offset, 'x');
    for (let offset = 1; offset < 400; offset++) table.delete(offset);
    expect(() => table.dropBelow(400)).toThrow(/still in flight/);
  });

  it('answers as a Map does, through sets, deletes, drops and far offsets (random operations)', () => {
    type Op = { kind: 'set'; offset: number } | { kind: 'delete'; offset: number } | { kind: 'advance' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), offset: fc.oneof(fc.nat(2_000), fc.integer({ min: INFLIGHT_SLOTS_MAX - 10, max: INFLIGHT_SLOTS_MAX + 2_000 })) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), offset: fc.oneof(fc.nat(2_000), fc.integer({ min: INFLIGHT_SLOTS_MAX - 10, max: INFLIGHT_SLOTS_MAX + 2_000 })) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const)}) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const table = new InflightTable<number>(0);
        const model = new Map<number, number>();
        let committed = 0; // offsets below it are never set again (as in a queue)
        ops.forEach((step, i) => {
          if (step.kind === 'set' && step.offset >= committed) {
            table.set(step.offset, i);
            model.set(step.offset, i);
          } else if (step.kind === 'delete') {
            expect(table.delete(step.offset)).toBe(model.delete(step.offset));
          } else if (step.kind === 'advance') {
            // The committed offset moves up to the lowest offset still in flight.
            committed = model.size === 0 ? committed + 1_000 : Math.min(...model.keys());
            table.dropBelow(committed);
          }
          expect(table.size).toBe(model.size);
        });
        expect(sorted(table)).toEqual([...model].sort((a, b) => a[0] - b[0]));
        for (const offset of [...model.keys(), 0, 1_999, INFLIGHT_SLOTS_MAX]) expect(table.get(offset)).toBe(model.get(offset));
      }),
      { numRuns: 300, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });
});
