// How far one consumer group has got in one queue, pop-style: every queue offset below
// `committedOffset` is done; offsets in flight are invisible until their deadline passes, then
// they are handed out again with the next delivery attempt. Pure: time comes in as nowMs.
// In FIFO mode a message whose message group has an earlier message not yet done is *held*: in
// flight with attempt 0 and no deadline, until that earlier one is done; then it becomes due at
// once and is handed out with attempt 1.
// Memory is bounded by what is in flight: offsets done above the committed one are ranges (a skip
// over a gap of any size is one range), and deadlines sit in a heap, so finding due messages does
// not walk everything in flight.
import { assert } from '@rmq/base';
import { MessageGroupOrder } from './message-group-order';
import { OffsetRanges, type OffsetRange } from './offset-ranges';
import { DeadlineHeap } from './deadline-heap';
import { InflightTable } from './inflight-table';

export interface InflightEntry {
  deliveryId: string;
  visibleAtMs: number;
  /** Deliveries so far; 0 for a FIFO message held behind an earlier one of its group. */
  attempt: number;
  /** FIFO mode: the message's group (kept across redeliveries of the offset). */
  messageGroup?: string;
  /**
   * The receipt handle minted for this delivery, in memory only (not journaled, not in snapshots):
   * an ack that presents exactly it is this delivery's, with no tag to check (consumer-acks.ts).
   */
  receiptHandle?: string;
}

/** Stale deadline entries tolerated beyond twice the in-flight count before the heap is rebuilt. */
const DEADLINE_HEAP_SLACK = 64;

/** The deadline of a held message: never, until it is released. */
export const HELD_VISIBLE_AT_MS = Number.MAX_SAFE_INTEGER;

/** What survives a restart: written by ConsumptionStore, read back by QueueConsumption.restore. */
export interface QueueConsumptionSnapshot {
  committedOffset: number;
  nextOffset: number;
  /** [queueOffset, deliveryId, visibleAtMs, attempt, messageGroup (FIFO only)] */
  inflight: ([number, string, number, number] | [number, string, number, number, string])[];
  /** Offsets above committedOffset that are already done, as [start, end) ranges (older saves: single offsets). */
  done: (OffsetRange | number)[];
}

export class QueueConsumption {
  private committed: number;
  private next: number;
  private readonly inflight: InflightTable<InflightEntry>;
  private readonly doneAbove = new OffsetRanges();
  private readonly deadlines = new DeadlineHeap();
  /** Present in FIFO mode only. */
  private readonly order: MessageGroupOrder | undefined;

  constructor(committedOffset: number, options: { fifo?: boolean } = {}) {
    this.committed = committedOffset;
    this.next = committedOffset;
    this.inflight = new InflightTable(committedOffset);
    this.order = options.fifo ? new MessageGroupOrder() : undefined;
  }

  get fifo(): boolean {
    return this.order !== undefined;
  }

  /**
   * Rebuilds the state saved before a restart, clamped to what the queue holds now (a store in
   * async mode may have lost its tail in a machine crash).
   */
  static restore(snapshot: QueueConsumptionSnapshot, queueEndOffset: number, options: { fifo?: boolean } = {}): QueueConsumption {
    const state = new QueueConsumption(Math.min(snapshot.committedOffset, queueEndOffset), options);
    state.next = Math.max(state.committed, Math.min(snapshot.nextOffset, queueEndOffset));
    const kept = snapshot.inflight.filter(([queueOffset]) => queueOffset >= state.committed && queueOffset < state.next).sort((a, b) => a[0] - b[0]);
    for (const [queueOffset, deliveryId, visibleAtMs, attempt, messageGroup] of kept) {
      const entry: InflightEntry = messageGroup === undefined ? { deliveryId, visibleAtMs, attempt } : { deliveryId, visibleAtMs, attempt, messageGroup };
      state.inflight.set(queueOffset, entry);
      if (state.order && messageGroup !== undefined) state.order.admit(messageGroup, queueOffset);
    }
    if (state.order) {
      // A group's oldest message may not stay held (its predecessor was done before the save).
      for (const [queueOffset, entry] of state.inflight.entries()) {
        if (entry.messageGroup !== undefined && entry.attempt === 0 && state.order.head(entry.messageGroup) === queueOffset) entry.visibleAtMs = 0;
      }
    }
    for (const done of snapshot.done) {
      const [start, end] = typeof done === 'number' ? [done, done + 1] : done;
      state.doneAbove.add(Math.max(start, state.committed), Math.min(end, state.next));
    }
    for (const queueOffset of state.inflight.keys()) assert(!state.doneAbove.has(queueOffset), 'a saved offset is both done and in flight', { queueOffset });
    state.rebuildDeadlines();
    state.advance();
    return state;
  }

  snapshot(): QueueConsumptionSnapshot {
    return {
      committedOffset: this.committed,
      nextOffset: this.next,
      // In offset order, whichever way they are kept (a restored state keeps them otherwise).
      inflight: [...this.inflight.entries()].sort((a, b) => a[0] - b[0]).map(([queueOffset, entry]) =>
        entry.messageGroup === undefined
          ? [queueOffset, entry.deliveryId, entry.visibleAtMs, entry.attempt]
          : [queueOffset, entry.deliveryId, entry.visibleAtMs, entry.attempt, entry.messageGroup],
      ),
      done: this.doneAbove.list(),
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

  /** Offsets whose invisible time is over (earliest deadlines), oldest first, up to `countMax`. */
  due(nowMs: number, countMax: number): { queueOffset: number; entry: InflightEntry }[] {
    if (!this.hasDue(nowMs)) return []; // the usual case (every receive asks every queue): nothing built
    const deadlines = this.deadlines;
    const taken: number[] = []; // deadline, queue offset, ...
    const offsets = new Set<number>();
    while (offsets.size < countMax) {
      if (!deadlines.peek(this.isCurrent) || deadlines.topVisibleAtMs > nowMs) break;
      taken.push(deadlines.topVisibleAtMs, deadlines.topQueueOffset);
      offsets.add(deadlines.topQueueOffset); // a deadline set twice to the same time has two entries
      deadlines.pop();
    }
    // Still in flight until the caller claims them: their entries go back.
    for (let i = 0; i < taken.length; i += 2) deadlines.push(taken[i], taken[i + 1]);
    return [...offsets].sort((a, b) => a - b).map((queueOffset) => ({ queueOffset, entry: this.inflight.get(queueOffset)! }));
  }

  /** Some in-flight message's invisible time is over at `nowMs`. */
  hasDue(nowMs: number): boolean {
    return this.deadlines.peek(this.isCurrent) && this.deadlines.topVisibleAtMs <= nowMs;
  }

  /** The earliest time an in-flight message becomes visible again. */
  nextVisibleAtMs(): number | undefined {
    return this.deadlines.peek(this.isCurrent) ? this.deadlines.topVisibleAtMs : undefined;
  }

  /** Records a delivery (first or repeated) of `queueOffset`. */
  deliver(queueOffset: number, entry: InflightEntry): void {
    if (queueOffset >= this.next) {
      // Nothing at or past `next` is done: no range to look up.
      // The details object only on failure: built per delivery, it was most of this method's garbage.
      if (queueOffset !== this.next) assert(false, 'new deliveries must follow the queue in order', { queueOffset, next: this.next });
      this.next = queueOffset + 1;
      this.setInflight(queueOffset, entry); // never handed out before: no message group to keep
      return;
    }
    if (queueOffset < this.committed || this.doneAbove.has(queueOffset)) assert(false, 'delivering an offset that is done', { queueOffset, committed: this.committed });
    this.setInflight(queueOffset, this.withGroupOf(queueOffset, entry));
  }

  /**
   * Takes the next new message of the queue (at `nextOffset`, after skipTo). In FIFO mode, one of
   * a message group whose earlier message is not done yet is held instead: false, nothing to
   * hand out now. Otherwise it is delivered with `entry`: true.
   */
  admit(queueOffset: number, messageGroup: string | undefined, entry: InflightEntry): boolean {
    if (!this.order || messageGroup === undefined) {
      this.deliver(queueOffset, entry);
      return true;
    }
    const now = this.order.admit(messageGroup, queueOffset);
    this.deliver(queueOffset, now ? withVisibleAt(entry, entry.visibleAtMs, messageGroup) : { deliveryId: '', visibleAtMs: HELD_VISIBLE_AT_MS, attempt: 0, messageGroup });
    return now;
  }

  /** Marks every offset from `nextOffset` up to `toOffset` as done without delivery (filtered out). */
  skipTo(toOffset: number): void {
    if (toOffset <= this.next) return;
    this.doneAbove.add(this.next, toOffset);
    this.next = toOffset;
    this.advance();
  }

  /** Acks the delivery `deliveryId` of `queueOffset`; false when that delivery is no longer current. */
  complete(queueOffset: number, deliveryId: string): boolean {
    const entry = this.inflight.get(queueOffset);
    if (!entry || entry.deliveryId !== deliveryId) return false;
    this.inflight.delete(queueOffset);
    // Acks mostly come in queue order: the oldest one moves the committed offset without a range.
    if (queueOffset === this.committed) this.committed++;
    else this.doneAbove.add(queueOffset, queueOffset + 1);
    this.advance();
    if (this.order && entry.messageGroup !== undefined) {
      const released = this.order.settle(entry.messageGroup, queueOffset);
      const next = released === undefined ? undefined : this.inflight.get(released);
      if (next) {
        assert(next.attempt === 0, 'only a held message is released', { queueOffset: released, attempt: next.attempt });
        this.setInflight(released!, withVisibleAt(next, 0, next.messageGroup));
      }
    }
    return true;
  }

  /** Moves the deadline of a current delivery and gives it a new id; false when stale. */
  renew(queueOffset: number, deliveryId: string, next: InflightEntry): boolean {
    const entry = this.inflight.get(queueOffset);
    if (!entry || entry.deliveryId !== deliveryId) return false;
    this.setInflight(queueOffset, this.withGroupOf(queueOffset, next));
    return true;
  }

  /** Moves the deadline of a current delivery, keeping its id (server-side renewal); false when stale. */
  extend(queueOffset: number, deliveryId: string, visibleAtMs: number): boolean {
    const entry = this.inflight.get(queueOffset);
    if (!entry || entry.deliveryId !== deliveryId) return false;
    this.setInflight(queueOffset, withVisibleAt(entry, visibleAtMs, entry.messageGroup));
    return true;
  }

  /** Keeps the handle minted for a delivery (claimed before its handle was minted) while that delivery is current. */
  keepReceiptHandle(queueOffset: number, deliveryId: string, receiptHandle: string): void {
    const entry = this.inflight.get(queueOffset);
    if (entry !== undefined && entry.deliveryId === deliveryId) entry.receiptHandle = receiptHandle;
  }

  /** The current delivery of an offset, if it is in flight. */
  current(queueOffset: number): InflightEntry | undefined {
    return this.inflight.get(queueOffset);
  }

  /** The message group belongs to the offset: a new delivery of it keeps it. */
  private withGroupOf(queueOffset: number, entry: InflightEntry): InflightEntry {
    const messageGroup = this.inflight.get(queueOffset)?.messageGroup;
    return messageGroup === undefined || entry.messageGroup !== undefined ? entry : withVisibleAt(entry, entry.visibleAtMs, messageGroup);
  }

  /** Offsets done above the committed one, as ranges (bounded by what is in flight). */
  get doneRangeCount(): number {
    return this.doneAbove.rangeCount;
  }

  private setInflight(queueOffset: number, entry: InflightEntry): void {
    this.inflight.set(queueOffset, entry);
    this.deadlines.push(entry.visibleAtMs, queueOffset);
    // Stale heap entries (old deadlines) are dropped lazily; rebuild when they outnumber the live ones.
    if (this.deadlines.size > 2 * this.inflight.size + DEADLINE_HEAP_SLACK) this.rebuildDeadlines();
  }

  private rebuildDeadlines(): void {
    this.deadlines.clear();
    for (const [queueOffset, entry] of this.inflight.entries()) this.deadlines.push(entry.visibleAtMs, queueOffset);
  }

  /**
   * A deadline entry is current while its offset is in flight with that deadline. A superseded
   * delivery given the same deadline leaves an entry that counts as current too: a duplicate of the
   * live one (due() takes each offset once), dropped with it once that deadline changes.
   */
  private readonly isCurrent = (visibleAtMs: number, queueOffset: number): boolean => {
    const entry = this.inflight.get(queueOffset);
    return entry !== undefined && entry.visibleAtMs === visibleAtMs;
  };

  private advance(): void {
    const end = this.doneAbove.takeRangeStartingAt(this.committed);
    if (end !== undefined) this.committed = end;
    this.inflight.dropBelow(this.committed);
  }
}


/**
 * A copy of `entry` with another deadline and group, as a literal: V8 builds `{ ...entry, x }` on
 * a slow path (microseconds), and this runs for deliveries and acks.
 */
function withVisibleAt(entry: InflightEntry, visibleAtMs: number, messageGroup: string | undefined): InflightEntry {
  // The same delivery (its id kept): its handle too.
  return messageGroup === undefined
    ? { deliveryId: entry.deliveryId, visibleAtMs, attempt: entry.attempt, receiptHandle: entry.receiptHandle }
    : { deliveryId: entry.deliveryId, visibleAtMs, attempt: entry.attempt, messageGroup, receiptHandle: entry.receiptHandle };
}
