import { BroadcastMembers } from './broadcast-members';
import { QueueConsumption } from './queue-consumption';

describe('BroadcastMembers', () => {
  it('keeps one progress per member and queue, made once', () => {
    const members = new BroadcastMembers(1_000, 10);
    let made = 0;
    const create = () => {
      made++;
      return new QueueConsumption(7);
    };
    const a = members.state('g', 'm1', 'T', 0, 0, create);
    expect(members.state('g', 'm1', 'T', 0, 10, create)).toBe(a);
    expect(members.state('g', 'm2', 'T', 0, 10, create)).not.toBe(a);
    expect(members.state('g', 'm1', 'T', 1, 10, create)).not.toBe(a);
    expect(made).toBe(3);
    expect(members.peek('g', 'm1', 'T', 0)).toBe(a);
    expect([...members.queues()].map((q) => `${q.member}/${q.topic}/${q.queueId}`).sort()).toEqual(['m1/T/0', 'm1/T/1', 'm2/T/0']);
  });

  it('forgets a member only after it was idle for longer than the limit', () => {
    const members = new BroadcastMembers(1_000, 10);
    members.state('g', 'm1', 'T', 0, 0, () => new QueueConsumption(0));
    members.state('g', 'm2', 'T', 0, 500, () => new QueueConsumption(0));
    expect(members.expire(1_000)).toHaveLength(0);
    expect(members.expire(1_001)).toHaveLength(1);
    expect(members.peek('g', 'm1', 'T', 0)).toBeUndefined();
    expect(members.memberCount).toBe(1);
  });

  it('refuses a member beyond the maximum with TOO_MANY_REQUESTS', () => {
    const members = new BroadcastMembers(1_000, 2);
    members.state('g', 'm1', 'T', 0, 0, () => new QueueConsumption(0));
    members.state('g', 'm2', 'T', 0, 0, () => new QueueConsumption(0));
    expect(() => members.state('g', 'm3', 'T', 0, 0, () => new QueueConsumption(0))).toThrow(/follows 2 broadcast consumers already/);
    // Known members still work.
    expect(members.state('g', 'm1', 'T', 1, 0, () => new QueueConsumption(0))).toBeDefined();
  });
});
