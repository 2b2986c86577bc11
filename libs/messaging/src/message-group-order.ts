// FIFO delivery within one queue for one consumer group: the messages of a message group are
// handed out one at a time, in queue order; the next only after the previous is done (acked or
// dead-lettered). Different message groups do not wait for each other. Pure bookkeeping: it
// holds, per message group, the queue offsets read but not yet done, oldest first.
import { assert } from '@rmq/base';

export class MessageGroupOrder {
  private readonly pending = new Map<string, number[]>();

  /**
   * Records `queueOffset` (read in queue order) of `messageGroup`; true when it may be delivered
   * now, false when it must wait for the earlier messages of its group.
   */
  admit(messageGroup: string, queueOffset: number): boolean {
    const offsets = this.pending.get(messageGroup);
    if (!offsets) {
      this.pending.set(messageGroup, [queueOffset]);
      return true;
    }
    assert(offsets[offsets.length - 1] < queueOffset, 'a message group is admitted in queue order', { messageGroup, queueOffset, last: offsets[offsets.length - 1] });
    offsets.push(queueOffset);
    return false;
  }

  /**
   * `queueOffset` of `messageGroup` is done; returns the offset of the group that may be
   * delivered now, if it has become the group's first.
   */
  settle(messageGroup: string, queueOffset: number): number | undefined {
    const offsets = this.pending.get(messageGroup);
    if (!offsets) return undefined;
    const index = offsets.indexOf(queueOffset);
    if (index < 0) return undefined;
    offsets.splice(index, 1);
    if (offsets.length === 0) {
      this.pending.delete(messageGroup);
      return undefined;
    }
    return index === 0 ? offsets[0] : undefined;
  }

  /** The offset of a group that may be delivered now (its oldest one not done). */
  head(messageGroup: string): number | undefined {
    return this.pending.get(messageGroup)?.[0];
  }

  get groupCount(): number {
    return this.pending.size;
  }
}
