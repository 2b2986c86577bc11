// Running sums of the consumer progress per (group, topic): the committed and next offsets summed
// over the group's queues of the topic, and the messages in flight. ConsumerProgress moves them
// with every change, so a metrics scrape reads one entry per (group, topic) instead of walking
// every queue's state. Broadcast members are not counted (their progress is per client).
import type { QueueConsumption } from './queue-consumption';

export interface GroupTopicTotals {
  readonly group: string;
  readonly topic: string;
  /** The queues of the topic this group has progress in (only ever grows until a reset). */
  readonly queueIds: ReadonlySet<number>;
  /** Sum of committedOffset over those queues. */
  readonly committedSum: number;
  /** Sum of nextOffset (the first offset never handed out) over those queues. */
  readonly nextSum: number;
  /** Messages delivered and not yet acknowledged, over those queues. */
  readonly inflight: number;
}

interface MutableTotals {
  group: string;
  topic: string;
  queueIds: Set<number>;
  committedSum: number;
  nextSum: number;
  inflight: number;
}

export class ProgressTotals {
  private readonly pairs = new Map<string, MutableTotals>();
  /** Which entry a group's queue state counts in (by identity: states are never copied). */
  private readonly owners = new Map<QueueConsumption, MutableTotals>();
  /**
   * The state before() last looked up and its entry (undefined: not counted): changes come in runs
   * of one queue (a receive's admits, an ack batch's completes), so most need no Map lookup.
   */
  private lastState: QueueConsumption | undefined;
  private lastTotals: MutableTotals | undefined;
  /** Between before() and after(): the sums being moved, and the state's figures before the change. */
  private changing: MutableTotals | undefined;
  private committedBefore = 0;
  private nextBefore = 0;
  private inflightBefore = 0;

  /** A group's state for (topic, queueId) was made, or replaced `previous` (a replayed restore). */
  added(group: string, topic: string, queueId: number, state: QueueConsumption, previous?: QueueConsumption): void {
    if (previous) this.removed(previous);
    this.lastState = undefined;
    const id = `${group}\u0000${topic}`;
    let totals = this.pairs.get(id);
    if (!totals) this.pairs.set(id, (totals = { group, topic, queueIds: new Set(), committedSum: 0, nextSum: 0, inflight: 0 }));
    totals.queueIds.add(queueId);
    totals.committedSum += state.committedOffset;
    totals.nextSum += state.nextOffset;
    totals.inflight += state.inflightCount;
    this.owners.set(state, totals);
  }

  /**
   * Runs `change` on `state` and moves the sums by what it changed. A state not counted here (a
   * broadcast member's) is changed alone.
   */
  tracked<T>(state: QueueConsumption, change: () => T): T {
    this.before(state);
    const result = change();
    this.after(state);
    return result;
  }

  /**
   * tracked() without a closure, for the changes made per message: before(state), the change,
   * then after(state), synchronously (one change at a time).
   */
  before(state: QueueConsumption): void {
    let totals = this.lastTotals;
    if (state !== this.lastState) {
      totals = this.lastTotals = this.owners.get(state);
      this.lastState = state;
    }
    this.changing = totals;
    if (!totals) return;
    this.committedBefore = state.committedOffset;
    this.nextBefore = state.nextOffset;
    this.inflightBefore = state.inflightCount;
  }

  after(state: QueueConsumption): void {
    const totals = this.changing;
    if (!totals) return;
    this.changing = undefined;
    totals.committedSum += state.committedOffset - this.committedBefore;
    totals.nextSum += state.nextOffset - this.nextBefore;
    totals.inflight += state.inflightCount - this.inflightBefore;
  }

  /** One entry per (group, topic) with progress. */
  list(): Iterable<GroupTopicTotals> {
    return this.pairs.values();
  }

  clear(): void {
    this.pairs.clear();
    this.owners.clear();
    this.lastState = undefined;
    this.lastTotals = undefined;
  }

  private removed(state: QueueConsumption): void {
    const totals = this.owners.get(state);
    if (!totals) return;
    this.owners.delete(state);
    this.lastState = undefined;
    totals.committedSum -= state.committedOffset;
    totals.nextSum -= state.nextOffset;
    totals.inflight -= state.inflightCount;
  }
}
