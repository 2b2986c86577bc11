// How far one consumer group has got in one queue, pop-style: every queue offset below
// `committedOffset` is done; offsets in flight are invisible until their deadline passes, then
// they are handed out again with the next delivery attempt. Pure: time comes in as nowMs.
import { assert } from '@rmq/base';

export interface InflightEntry {
  deliveryId: string;
  visibleAtMs: number;
  attempt: number;
}

/** What survives a restart: written by ConsumptionStore, read back by QueueConsumption.restore. */
export interface QueueConsumptionSnapshot {
  committedOffset: number;
  nextOffset: number;
  /** [queueOffset, deliveryId, visibleAtMs, attempt] */
  inflight: [number, string, number, number][];
  /** Offsets above committedOffset that are already done. */
  done: number[];
}

export class QueueConsumption {
  private committed: number;
  private next: number;
  private readonly inflight = new Map<number, InflightEntry>();
  private readonly doneAbove = new Set<number>();

  constructor(committedOffset: number) {
    this.committed = committedOffset;
    this.next = committedOffset;
  }

  /**
   * Rebuilds the state saved before a restart, clamped to what the queue holds now (a store in
   * async mode may have lost its tail in a machine crash).
   */
  static restore(snapshot: QueueConsumptionSnapshot, queueEndOffset: number): QueueConsumption {
    const state = new QueueConsumption(Math.min(snapshot.committedOffset, queueEndOffset));
    state.next = Math.max(state.committed, Math.min(snapshot.nextOffset, queueEndOffset));
    for (const [queueOffset, deliveryId, visibleAtMs, attempt] of snapshot.inflight) {
      if (queueOffset >= state.committed && queueOffset < state.next) state.inflight.set(queueOffset, { deliveryId, visibleAtMs, attempt });
    }
    for (const offset of snapshot.done) if (offset >= state.committed && offset < state.next && !state.inflight.has(offset)) state.doneAbove.add(offset);
    state.advance();
    return state;
  }

  snapshot(): QueueConsumptionSnapshot {
    return {
      committedOffset: this.committed,
      nextOffset: this.next,
      inflight: [...this.inflight].map(([queueOffset, entry]) => [queueOffset, entry.deliveryId, entry.visibleAtMs, entry.attempt]),
      done: [...this.doneAbove],
    };
  }

  get committedOffset(): number {
    return this.committed;
  }

  /** The first offset never handed out. */
  get nextOffset(): number {
    return this.next;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Offsets whose invisible time is over, oldest first, up to `countMax`. */
  due(nowMs: number, countMax: number): { queueOffset: number; entry: InflightEntry }[] {
    const due: { queueOffset: number; entry: InflightEntry }[] = [];
    for (const [queueOffset, entry] of this.inflight) {
      if (entry.visibleAtMs <= nowMs) due.push({ queueOffset, entry });
    }
    return due.sort((a, b) => a.queueOffset - b.queueOffset).slice(0, countMax);
  }

  /** The earliest time an in-flight message becomes visible again. */
  nextVisibleAtMs(): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.inflight.values()) if (earliest === undefined || entry.visibleAtMs < earliest) earliest = entry.visibleAtMs;
    return earliest;
  }

  /** Records a delivery (first or repeated) of `queueOffset`. */
  deliver(queueOffset: number, entry: InflightEntry): void {
    assert(queueOffset >= this.committed && !this.doneAbove.has(queueOffset), 'delivering an offset that is done', { queueOffset, committed: this.committed });
    if (queueOffset >= this.next) {
      assert(queueOffset === this.next, 'new deliveries must follow the queue in order', { queueOffset, next: this.next });
      this.next = queueOffset + 1;
    }
    this.inflight.set(queueOffset, entry);
  }

  /** Marks every offset from `nextOffset` up to `toOffset` as done without delivery (filtered out). */
  skipTo(toOffset: number): void {
    for (let offset = this.next; offset < toOffset; offset++) this.doneAbove.add(offset);
    this.next = Math.max(this.next, toOffset);
    this.advance();
  }

  /** Acks the delivery `deliveryId` of `queueOffset`; false when that delivery is no longer current. */
  complete(queueOffset: number, deliveryId: string): boolean {
    const entry = this.inflight.get(queueOffset);
    if (!entry || entry.deliveryId !== deliveryId) return false;
    this.inflight.delete(queueOffset);
    this.doneAbove.add(queueOffset);
    this.advance();
    return true;
  }

  /** Moves the deadline of a current delivery and gives it a new id; false when stale. */
  renew(queueOffset: number, deliveryId: string, next: InflightEntry): boolean {
    const entry = this.inflight.get(queueOffset);
    if (!entry || entry.deliveryId !== deliveryId) return false;
    this.inflight.set(queueOffset, next);
    return true;
  }

  /** The current delivery of an offset, if it is in flight. */
  current(queueOffset: number): InflightEntry | undefined {
    return this.inflight.get(queueOffset);
  }

  private advance(): void {
    while (this.doneAbove.has(this.committed)) {
      this.doneAbove.delete(this.committed);
      this.committed++;
    }
  }
}

