// In-flight deliveries ordered by the time they become visible again, so finding the due ones
// costs O(due × log n) instead of a walk and sort of everything in flight (O(due) for deadlines
// pushed in order: a sorted run beside the heap). Entries are never updated in place: a changed
// deadline pushes a new entry, and the caller's `isCurrent` drops the stale ones when they reach
// the top (lazy deletion). Pure.

export interface DeadlineEntry {
  visibleAtMs: number;
  queueOffset: number;
  deliveryId: string;
}

/** Taken entries at the front of the run before it is compacted. */
const RUN_COMPACT_MIN = 1024;

export class DeadlineHeap {
  private readonly heap: DeadlineEntry[] = [];
  /**
   * Entries pushed in deadline order (the usual case: one invisible duration, a clock that moves
   * on) are a sorted run instead, taken from the front in O(1); the heap holds the others.
   */
  private run: DeadlineEntry[] = [];
  private runHead = 0;

  get size(): number {
    return this.heap.length + this.run.length - this.runHead;
  }

  push(entry: DeadlineEntry): void {
    const run = this.run;
    if (run.length === this.runHead || !earlier(entry, run[run.length - 1])) {
      run.push(entry);
      return;
    }
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(heap[index], heap[parent])) break;
      const swapped = heap[index];
      heap[index] = heap[parent];
      heap[parent] = swapped;
      index = parent;
    }
  }

  /** The earliest current entry, after dropping stale ones from the top. */
  peek(isCurrent: (entry: DeadlineEntry) => boolean): DeadlineEntry | undefined {
    while (this.runHead < this.run.length && !isCurrent(this.run[this.runHead])) this.takeFromRun();
    while (this.heap.length > 0 && !isCurrent(this.heap[0])) this.popHeap();
    return this.earliest() === 'run' ? this.run[this.runHead] : this.heap[0];
  }

  pop(): DeadlineEntry | undefined {
    return this.earliest() === 'run' ? this.takeFromRun() : this.popHeap();
  }

  /** Rebuilds the heap from the current entries only (when stale ones pile up). */
  rebuild(current: Iterable<DeadlineEntry>): void {
    this.heap.length = 0;
    this.run = [];
    this.runHead = 0;
    for (const entry of current) this.push(entry);
  }

  /** Where the earliest entry is (the run on a tie: it holds the older pushes). */
  private earliest(): 'run' | 'heap' {
    const first = this.run[this.runHead];
    if (this.runHead >= this.run.length) return 'heap';
    return this.heap.length > 0 && earlier(this.heap[0], first) ? 'heap' : 'run';
  }

  private takeFromRun(): DeadlineEntry {
    const entry = this.run[this.runHead];
    this.run[this.runHead++] = undefined as unknown as DeadlineEntry; // let it be collected
    if (this.runHead === this.run.length) {
      this.run.length = 0;
      this.runHead = 0;
    } else if (this.runHead >= RUN_COMPACT_MIN && 2 * this.runHead >= this.run.length) {
      this.run = this.run.slice(this.runHead);
      this.runHead = 0;
    }
    return entry;
  }

  private popHeap(): DeadlineEntry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && earlier(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && earlier(heap[right], heap[smallest])) smallest = right;
        if (smallest === index) break;
        const swapped = heap[index];
        heap[index] = heap[smallest];
        heap[smallest] = swapped;
        index = smallest;
      }
    }
    return top;
  }
}

/** Earlier deadline first; among equal deadlines the lower queue offset (oldest message) first. */
function earlier(a: DeadlineEntry, b: DeadlineEntry): boolean {
  return a.visibleAtMs < b.visibleAtMs || (a.visibleAtMs === b.visibleAtMs && a.queueOffset < b.queueOffset);
}
