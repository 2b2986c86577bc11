// Progress of each member of a broadcast group. In broadcast consumption every member (a client,
// by its client id) gets every message, so each member has its own QueueConsumption per queue.
// Kept in memory only, like RocketMQ 5's BroadcastOffsetManager: a member idle for longer than
// `idleMsMax` is forgotten, and a new (or forgotten) member starts at the end of each queue.
// Pure bookkeeping: time comes in as nowMs, states are made by the caller.
import { RmqError } from '@rmq/base';
import type { QueueConsumption } from './queue-consumption';

interface Member {
  group: string;
  member: string;
  lastActiveMs: number;
  /** `${topic}\u0000${queueId}` -> progress */
  queues: Map<string, QueueConsumption>;
}

export class BroadcastMembers {
  private readonly members = new Map<string, Member>();

  constructor(
    private readonly idleMsMax: number,
    private readonly membersMax: number,
  ) {}

  /** The member's progress in a queue (made by `create` the first time); marks the member active. */
  state(group: string, member: string, topic: string, queueId: number, nowMs: number, create: () => QueueConsumption): QueueConsumption {
    const key = `${group}\u0000${member}`;
    let entry = this.members.get(key);
    if (!entry) {
      if (this.members.size >= this.membersMax) {
        throw new RmqError('TOO_MANY_REQUESTS', { reason: `this broker follows ${this.membersMax} broadcast consumers already; retry when idle ones have expired` });
      }
      entry = { group, member, lastActiveMs: nowMs, queues: new Map() };
      this.members.set(key, entry);
    }
    entry.lastActiveMs = Math.max(entry.lastActiveMs, nowMs);
    const queueKey = `${topic}\u0000${queueId}`;
    let state = entry.queues.get(queueKey);
    if (!state) {
      state = create();
      entry.queues.set(queueKey, state);
    }
    return state;
  }

  /** The member's progress in a queue, if it has any; does not mark it active. */
  peek(group: string, member: string, topic: string, queueId: number): QueueConsumption | undefined {
    return this.members.get(`${group}\u0000${member}`)?.queues.get(`${topic}\u0000${queueId}`);
  }

  /** Forgets members idle for longer than the limit; returns them. */
  expire(nowMs: number): { group: string; member: string }[] {
    const forgotten: { group: string; member: string }[] = [];
    for (const [key, entry] of this.members) {
      if (nowMs - entry.lastActiveMs > this.idleMsMax) {
        this.members.delete(key);
        forgotten.push({ group: entry.group, member: entry.member });
      }
    }
    return forgotten;
  }

  /** The member made a request: it is active. */
  touch(group: string, member: string, nowMs: number): void {
    const entry = this.members.get(`${group}\u0000${member}`);
    if (entry) entry.lastActiveMs = Math.max(entry.lastActiveMs, nowMs);
  }

  /** Forgets one member and its progress. */
  forget(group: string, member: string): void {
    this.members.delete(`${group}\u0000${member}`);
  }

  clear(): void {
    this.members.clear();
  }

  get memberCount(): number {
    return this.members.size;
  }

  /** Every member's progress in every queue. */
  *queues(): Generator<{ group: string; member: string; topic: string; queueId: number; state: QueueConsumption }> {
    for (const entry of this.members.values()) {
      for (const [queueKey, state] of entry.queues) {
        const [topic, queueIdText] = queueKey.split('\u0000');
        yield { group: entry.group, member: entry.member, topic, queueId: Number(queueIdText), state };
      }
    }
  }
}
