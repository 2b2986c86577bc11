// In-flight deliveries ordered by the time they become visible again, so finding the due ones
// costs O(due × log n) instead of a walk and sort of everything in flight. Entries are never
// updated in place: a changed deadline pushes a new entry, and the caller's `isCurrent` drops
// the stale ones when they reach the top (lazy deletion). Pure.

export interface DeadlineEntry {
  visibleAtMs: number;
  queueOffset: number;
  deliveryId: string;
}

export class DeadlineHeap {
  private readonly heap: DeadlineEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(entry: DeadlineEntry): void {
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
    while (this.heap.length > 0 && !isCurrent(this.heap[0])) this.pop();
    return this.heap[0];
  }

  pop(): DeadlineEntry | undefined {
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

  /** Rebuilds the heap from the current entries only (when stale ones pile up). */
  rebuild(current: Iterable<DeadlineEntry>): void {
    this.heap.length = 0;
    for (const entry of current) this.push(entry);
  }
}

/** Earlier deadline first; among equal deadlines the lower queue offset (oldest message) first. */
function earlier(a: DeadlineEntry, b: DeadlineEntry): boolean {
  return a.visibleAtMs < b.visibleAtMs || (a.visibleAtMs === b.visibleAtMs && a.queueOffset < b.queueOffset);
}
