// A set of queue offsets kept as sorted, disjoint, non-adjacent half-open ranges [start, end):
// marking a gap of any size done costs one range, not one entry per offset. Pure.

export type OffsetRange = [start: number, end: number];

export class OffsetRanges {
  private readonly ranges: OffsetRange[] = [];

  /** Adds [start, end), merging with the ranges it touches. */
  add(start: number, end: number): void {
    if (end <= start) return;
    // First range whose end reaches `start` (it may merge); every range before it ends earlier.
    const first = this.firstEndingAtOrAfter(start);
    let last = first;
    let mergedStart = start;
    let mergedEnd = end;
    while (last < this.ranges.length && this.ranges[last][0] <= end) {
      mergedStart = Math.min(mergedStart, this.ranges[last][0]);
      mergedEnd = Math.max(mergedEnd, this.ranges[last][1]);
      last++;
    }
    if (last - first === 1) {
      // Grows one range (an ack next to others done): in place, no new range (list() hands out copies).
      this.ranges[first][0] = mergedStart;
      this.ranges[first][1] = mergedEnd;
      return;
    }
    if (last === first && first === this.ranges.length) this.ranges.push([mergedStart, mergedEnd]);
    else this.ranges.splice(first, last - first, [mergedStart, mergedEnd]);
  }

  has(offset: number): boolean {
    const index = this.firstEndingAtOrAfter(offset + 1);
    return index < this.ranges.length && this.ranges[index][0] <= offset;
  }

  /** If a range starts exactly at `offset`, removes it and returns its end. */
  takeRangeStartingAt(offset: number): number | undefined {
    const head = this.ranges[0];
    if (!head || head[0] !== offset) return undefined;
    this.ranges.shift();
    return head[1];
  }

  /** Forgets every offset below `offset`. */
  dropBelow(offset: number): void {
    while (this.ranges.length > 0 && this.ranges[0][1] <= offset) this.ranges.shift();
    if (this.ranges.length > 0 && this.ranges[0][0] < offset) this.ranges[0] = [offset, this.ranges[0][1]];
  }

  /** Forgets every offset at or above `offset`. */
  dropFrom(offset: number): void {
    while (this.ranges.length > 0 && this.ranges[this.ranges.length - 1][0] >= offset) this.ranges.pop();
    const last = this.ranges[this.ranges.length - 1];
    if (last && last[1] > offset) this.ranges[this.ranges.length - 1] = [last[0], offset];
  }

  get rangeCount(): number {
    return this.ranges.length;
  }

  list(): OffsetRange[] {
    return this.ranges.map(([start, end]) => [start, end]);
  }

  /** Index of the first range with end >= offset (binary search). */
  private firstEndingAtOrAfter(offset: number): number {
    let low = 0;
    let high = this.ranges.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.ranges[middle][1] < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
