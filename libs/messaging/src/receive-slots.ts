// Receives (long polls) running at once, so one runaway client, or one group with too many of
// them, cannot pile up waiting receives that every new message of a topic wakes. Two kinds:
// - a push consumer's receive of one assigned queue: one at a time per client, group, topic and
//   queue (a consumer holds one per assigned queue; a second is a runaway). Never counted against
//   the caps below, since the official push consumer retries a refused receive after 20 ms and a
//   topic may have 1,024 queues;
// - any other receive (SimpleConsumer style, the whole topic): counted per client and per group.
// Over a bound a receive is refused at once with TOO_MANY_REQUESTS; its slot is given back when
// it ends, however it ends, so a client that vanishes holds nothing once its calls are cancelled.
// Callers without a client id share one count.
import { assert, RmqError } from '@rmq/base';

export interface ReceiveSlotBounds {
  perClientMax: number;
  perGroupMax: number;
}

/** The queue a push consumer's receive is for. */
export interface AssignedQueue {
  topic: string;
  queueId: number;
}

export class ReceiveSlots {
  private readonly byClient = new Map<string, number>();
  private readonly byGroup = new Map<string, number>();
  private readonly assignedQueues = new Set<string>();

  constructor(private readonly bounds: ReceiveSlotBounds) {
    assert(bounds.perClientMax >= 1 && bounds.perGroupMax >= 1, 'receive slot bounds must be at least 1', { ...bounds });
  }

  /** Takes a slot for a receive of `clientId` in `group`; returns the function that gives it back (once). */
  acquire(group: string, clientId: string | undefined, assigned?: AssignedQueue): () => void {
    const client = clientId ?? '';
    if (assigned) return this.acquireAssigned(group, client, assigned);
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
    return once(() => {
      decrement(this.byClient, client);
      decrement(this.byGroup, group);
    });
  }

  /** Receives running now (for metrics and tests). */
  get count(): number {
    let total = this.assignedQueues.size;
    for (const count of this.byGroup.values()) total += count;
    return total;
  }

  private acquireAssigned(group: string, client: string, assigned: AssignedQueue): () => void {
    const key = `${client}\u0000${group}\u0000${assigned.topic}\u0000${assigned.queueId}`;
    if (this.assignedQueues.has(key)) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `client ${client || '(no x-mq-client-id)'} already waits on queue ${assigned.queueId} of ${assigned.topic} for group ${group}: one receive per assigned queue at a time` });
    }
    this.assignedQueues.add(key);
    return once(() => this.assignedQueues.delete(key));
  }
}

function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 0) - 1;
  assert(count >= 0, 'a receive slot was given back twice', { key });
  if (count === 0) counts.delete(key);
  else counts.set(key, count);
}
