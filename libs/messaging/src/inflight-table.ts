// The in-flight entries of one queue by queue offset. They lie between the queue's committed offset
// and its next one, mostly close together (a receive hands out a run of offsets, acks come back
// in about that order), so they are kept in an array indexed by offset - base, `base` following
// the committed offset: no hashing, no table to grow and shrink per message, neighbours in
// neighbouring slots. An offset too far above `base` for the array (a message left in flight
// while the queue moved far on, or past a skip over a large gap) is kept in a Map instead. Pure.
import { assert } from '@rmq/base';

/**
 * Slots the array may span; an offset further above `base` goes to the Map. The array's memory
 * follows the span of offsets in flight, not their count (one message left in flight while its
 * queue moves on widens it): at most 64 KiB of slots per queue state.
 */
export const INFLIGHT_SLOTS_MAX = 1 << 13;
/** Empty slots at the front tolerated before they are dropped (then at least half the array). */
const DROP_SLOTS_MIN = 256;

export class InflightTable<T> {
  /** slots[i] holds the entry of offset base + i, if that offset is in flight and kept here. */
  private slots: (T | undefined)[] = [];
  private base: number;
  /** Entries of offsets that were out of the slots' reach when set. */
  private readonly far = new Map<number, T>();
  private count = 0;

  constructor(base: number) {
    this.base = base;
  }

  get size(): number {
    return this.count;
  }

  get(offset: number): T | undefined {
    const index = offset - this.base;
    if (index >= 0 && index < this.slots.length) {
      const entry = this.slots[index];
      if (entry !== undefined) return entry;
    }
    return this.far.size > 0 ? this.far.get(offset) : undefined;
  }

  set(offset: number, entry: T): void {
    // An offset stays where it was first put.
    if (this.far.size > 0 && this.far.has(offset)) {
      this.far.set(offset, entry);
      return;
    }
    const slots = this.slots;
    const index = offset - this.base;
    if (index >= 0 && index < slots.length) {
      if (slots[index] === undefined) this.count++;
      slots[index] = entry;
      return;
    }
    this.count++;
    if (index >= 0 && index < INFLIGHT_SLOTS_MAX) {
      while (slots.length < index) slots.push(undefined); // offsets skipped (filtered out): empty slots
      slots.push(entry);
      return;
    }
    this.far.set(offset, entry);
  }

  delete(offset: number): boolean {
    const index = offset - this.base;
    if (index >= 0 && index < this.slots.length && this.slots[index] !== undefined) {
      this.slots[index] = undefined;
      this.count--;
      return true;
    }
    if (this.far.size > 0 && this.far.delete(offset)) {
      this.count--;
      return true;
    }
    return false;
  }

  /**
   * Nothing below `offset` is in flight any more (the committed offset moved there): the slots
   * below it are dropped, so the array follows the queue instead of growing with it.
   */
  dropBelow(offset: number): void {
    const dropped = offset - this.base;
    if (dropped <= 0) return;
    if (dropped >= this.slots.length) {
      assert(this.count === this.far.size, 'dropping slots of offsets still in flight', { below: offset, base: this.base });
      this.slots = [];
      this.base = offset;
    } else if (dropped >= DROP_SLOTS_MIN && 2 * dropped >= this.slots.length) {
      for (let i = 0; i < dropped; i++) assert(this.slots[i] === undefined, 'dropping a slot of an offset still in flight', { offset: this.base + i, below: offset });
      this.slots.splice(0, dropped);
      this.base = offset;
    }
  }

  /** Every entry with its offset: the array's in offset order, then the Map's. */
  *entries(): Generator<[number, T]> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const entry = slots[i];
      if (entry !== undefined) yield [this.base + i, entry];
    }
    yield* this.far;
  }

  keys(): number[] {
    return Array.from(this.entries(), ([offset]) => offset);
  }
}
