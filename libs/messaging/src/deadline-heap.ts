// In-flight deliveries ordered by the time they become visible again, so finding the due ones
// costs O(due × log n) instead of a walk and sort of everything in flight (O(due) for deadlines
// pushed in order: a sorted run beside the heap). Entries are never updated in place: a changed
// deadline pushes a new entry, and the caller's `isCurrent` drops the stale ones when they reach
// the top (lazy deletion). An entry is two numbers (deadline, queue offset) in parallel arrays:
// no object per delivery. Pure.

/** Whether the entry (deadline, queue offset) is still the offset's current deadline. */
export type IsCurrent = (visibleAtMs: number, queueOffset: number) => boolean;

/** Taken entries at the front of the run before it is compacted. */
const RUN_COMPACT_MIN = 1024;

export class DeadlineHeap {
  private heapAt: number[] = [];
  private heapOffset: number[] = [];
  /**
   * Entries pushed in deadline order (the usual case: one invisible duration, a clock that moves
   * on) are a sorted run instead, taken from the front in O(1); the heap holds the others.
   */
  private runAt: number[] = [];
  private runOffset: number[] = [];
  private runHead = 0;
  /** The earliest entry, as peek() found it. */
  topVisibleAtMs = 0;
  topQueueOffset = 0;

  get size(): number {
    return this.heapAt.length + this.runAt.length - this.runHead;
  }

  push(visibleAtMs: number, queueOffset: number): void {
    const last = this.runAt.length - 1;
    if (last < this.runHead || !earlier(visibleAtMs, queueOffset, this.runAt[last], this.runOffset[last])) {
      this.runAt.push(visibleAtMs);
      this.runOffset.push(queueOffset);
      return;
    }
    const at = this.heapAt;
    const offsets = this.heapOffset;
    let index = at.length;
    at.push(visibleAtMs);
    offsets.push(queueOffset);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(visibleAtMs, queueOffset, at[parent], offsets[parent])) break;
      at[index] = at[parent];
      offsets[index] = offsets[parent];
      index = parent;
    }
    at[index] = visibleAtMs;
    offsets[index] = queueOffset;
  }

  /**
   * Drops stale entries from the top; false when none is left, else topVisibleAtMs and
   * topQueueOffset hold the earliest current entry.
   */
  peek(isCurrent: IsCurrent): boolean {
    while (this.runHead < this.runAt.length && !isCurrent(this.runAt[this.runHead], this.runOffset[this.runHead])) this.takeFromRun();
    while (this.heapAt.length > 0 && !isCurrent(this.heapAt[0], this.heapOffset[0])) this.popHeap();
    if (this.fromRun()) {
      this.topVisibleAtMs = this.runAt[this.runHead];
      this.topQueueOffset = this.runOffset[this.runHead];
      return true;
    }
    if (this.heapAt.length === 0) return false;
    this.topVisibleAtMs = this.heapAt[0];
    this.topQueueOffset = this.heapOffset[0];
    return true;
  }

  /** Removes the earliest entry (current or not); false when there is none. */
  pop(): boolean {
    if (this.fromRun()) this.takeFromRun();
    else if (this.heapAt.length > 0) this.popHeap();
    else return false;
    return true;
  }

  /** Forgets every entry (before pushing the current ones again, when stale ones pile up). */
  clear(): void {
    this.heapAt = [];
    this.heapOffset = [];
    this.runAt = [];
    this.runOffset = [];
    this.runHead = 0;
  }

  /** Whether the earliest entry is the run's (the run on a tie: it holds the older pushes). */
  private fromRun(): boolean {
    if (this.runHead >= this.runAt.length) return false;
    return this.heapAt.length === 0 || !earlier(this.heapAt[0], this.heapOffset[0], this.runAt[this.runHead], this.runOffset[this.runHead]);
  }

  private takeFromRun(): void {
    this.runHead++;
    if (this.runHead === this.runAt.length) {
      this.runAt.length = 0;
      this.runOffset.length = 0;
      this.runHead = 0;
    } else if (this.runHead >= RUN_COMPACT_MIN && 2 * this.runHead >= this.runAt.length) {
      this.runAt = this.runAt.slice(this.runHead);
      this.runOffset = this.runOffset.slice(this.runHead);
      this.runHead = 0;
    }
  }

  private popHeap(): void {
    const at = this.heapAt;
    const offsets = this.heapOffset;
    const lastAt = at.pop()!;
    const lastOffset = offsets.pop()!;
    const length = at.length;
    if (length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && earlier(at[right], offsets[right], at[left], offsets[left]) ? right : left;
      if (!earlier(at[child], offsets[child], lastAt, lastOffset)) break;
      at[index] = at[child];
      offsets[index] = offsets[child];
      index = child;
    }
    at[index] = lastAt;
    offsets[index] = lastOffset;
  }
}

/** Earlier deadline first; among equal deadlines the lower queue offset (oldest message) first. */
function earlier(aAt: number, aOffset: number, bAt: number, bOffset: number): boolean {
  return aAt < bAt || (aAt === bAt && aOffset < bOffset);
}
