// Receives (long polls) running at once, counted per client and per consumer group, so one
// runaway client, or one group with too many of them, cannot pile up waiting receives that every
// new message of a topic wakes. Over a bound a receive is refused at once with TOO_MANY_REQUESTS
// (the official clients back off and try again); a receive's slot is given back when it ends,
// however it ends, so a client that vanishes holds nothing once its calls are cancelled.
// Callers without a client id share one count.
import { assert, RmqError } from '@rmq/base';

export interface ReceiveSlotBounds {
  perClientMax: number;
  perGroupMax: number;
}

export class ReceiveSlots {
  private readonly byClient = new Map<string, number>();
  private readonly byGroup = new Map<string, number>();

  constructor(private readonly bounds: ReceiveSlotBounds) {
    assert(bounds.perClientMax >= 1 && bounds.perGroupMax >= 1, 'receive slot bounds must be at least 1', { ...bounds });
  }

  /** Takes a slot for a receive of `clientId` in `group`; returns the function that gives it back (once). */
  acquire(group: string, clientId: string | undefined): () => void {
    const client = clientId ?? '';
    const clientCount = this.byClient.get(client) ?? 0;
    if (clientCount >= this.bounds.perClientMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `client ${client || '(no x-mq-client-id)'} already has ${clientCount} receives waiting on this broker; the limit is ${this.bounds.perClientMax}: wait for one to return` });
    }
    const groupCount = this.byGroup.get(group) ?? 0;
    if (groupCount >= this.bounds.perGroupMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `consumer group ${group} already has ${groupCount} receives waiting on this broker; the limit is ${this.bounds.perGroupMax}: fewer clients, or fewer receives each` });
    }
    this.byClient.set(client, clientCount + 1);
    this.byGroup.set(group, groupCount + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.byClient, client);
      decrement(this.byGroup, group);
    };
  }

  /** Receives running now (for metrics and tests). */
  get count(): number {
    let total = 0;
    for (const count of this.byGroup.values()) total += count;
    return total;
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 0) - 1;
  assert(count >= 0, 'a receive slot was given back twice', { key });
  if (count === 0) counts.delete(key);
  else counts.set(key, count);
}
