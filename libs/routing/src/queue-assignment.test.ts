import fc from 'fast-check';
import { assignQueues, type QueueRef } from './queue-assignment';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const fcOptions = { numRuns: 300, seed: FC_SEED };

const queuesArb = fc.uniqueArray(fc.record({ brokerName: fc.constantFrom('broker-a', 'broker-b', 'broker-c'), queueId: fc.nat({ max: 15 }) }), {
  selector: (queue) => `${queue.brokerName}/${queue.queueId}`,
  maxLength: 48,
});
const membersArb = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 12 });
const key = (queue: QueueRef) => `${queue.brokerName}/${queue.queueId}`;

describe('assignQueues', () => {
  it(`gives every queue to exactly one member, with run sizes differing by at most one (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(queuesArb, membersArb, (queues, members) => {
        const assignment = assignQueues(queues, members);
        expect([...assignment.keys()].sort()).toEqual([...members].sort());
        const assigned = [...assignment.values()].flat().map(key);
        if (members.length > 0) expect(assigned.sort()).toEqual(queues.map(key).sort());
        else expect(assigned).toEqual([]);
        const sizes = [...assignment.values()].map((list) => list.length);
        if (sizes.length > 0) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
      fcOptions,
    );
  });

  it(`does not depend on the order queues and members are listed in (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(queuesArb, membersArb, (queues, members) => {
        const forward = assignQueues(queues, members);
        const backward = assignQueues([...queues].reverse(), [...members].reverse());
        for (const member of members) expect(backward.get(member)!.map(key)).toEqual(forward.get(member)!.map(key));
      }),
      fcOptions,
    );
  });

  it('splits 8 queues of two brokers over 3 members as 3, 3 and 2, in broker then queue order', () => {
    const queues = [...Array.from({ length: 4 }, (_, queueId) => ({ brokerName: 'broker-b', queueId })), ...Array.from({ length: 4 }, (_, queueId) => ({ brokerName: 'broker-a', queueId }))];
    const assignment = assignQueues(queues, ['c3', 'c1', 'c2']);
    expect(Object.fromEntries([...assignment].map(([member, list]) => [member, list.map(key)]))).toEqual({
      c1: ['broker-a/0', 'broker-a/1', 'broker-a/2'],
      c2: ['broker-a/3', 'broker-b/0', 'broker-b/1'],
      c3: ['broker-b/2', 'broker-b/3'],
    });
  });

  it('leaves the members beyond the queue count without queues', () => {
    const assignment = assignQueues([{ brokerName: 'a', queueId: 0 }], ['m1', 'm2']);
    expect(assignment.get('m1')).toHaveLength(1);
    expect(assignment.get('m2')).toEqual([]);
  });
});
