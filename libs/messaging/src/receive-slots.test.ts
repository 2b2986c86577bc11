import { ReceiveSlots } from './receive-slots';

describe('receive slots', () => {
  it('refuses a client over its bound with TOO_MANY_REQUESTS, and takes it again once one returns', () => {
    const slots = new ReceiveSlots({ perClientMax: 2, perGroupMax: 10 });
    const first = slots.acquire('g', 'c1');
    slots.acquire('g', 'c1');
    expect(() => slots.acquire('g', 'c1')).toThrow(expect.objectContaining({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('client c1 already has 2 receives waiting on this broker; the limit is 2') }));
    expect(() => slots.acquire('g', 'c2')).not.toThrow(); // another client is not held back
    first();
    first(); // giving back twice counts once
    expect(() => slots.acquire('g', 'c1')).not.toThrow();
    expect(slots.count).toBe(3);
  });

  it('refuses a group over its bound, whichever client asks; other groups go on', () => {
    const slots = new ReceiveSlots({ perClientMax: 10, perGroupMax: 3 });
    const releases = ['a', 'b', 'c'].map((client) => slots.acquire('busy', client));
    expect(() => slots.acquire('busy', 'd')).toThrow(/consumer group busy already has 3 receives waiting on this broker; the limit is 3/);
    expect(() => slots.acquire('quiet', 'd')).not.toThrow();
    for (const release of releases) release();
    expect(slots.count).toBe(1);
    expect(() => slots.acquire('busy', 'd')).not.toThrow();
  });

  it('counts callers without a client id together', () => {
    const slots = new ReceiveSlots({ perClientMax: 1, perGroupMax: 10 });
    slots.acquire('g', undefined);
    expect(() => slots.acquire('g', undefined)).toThrow(/client \(no x-mq-client-id\) already has 1/);
  });

  it('lets a push consumer hold one receive per assigned queue, however many queues, outside the caps', () => {
    const slots = new ReceiveSlots({ perClientMax: 2, perGroupMax: 2 });
    const releases = Array.from({ length: 1_024 }, (_, queueId) => slots.acquire('g', 'pusher', { topic: 'T', queueId }));
    expect(() => slots.acquire('g', 'pusher', { topic: 'T', queueId: 7 })).toThrow(/already waits on queue 7 of T for group g: one receive per assigned queue/);
    expect(() => slots.acquire('g', 'other-pusher', { topic: 'T', queueId: 7 })).not.toThrow();
    slots.acquire('g', 'simple'); // the caps count only the other kind
    slots.acquire('g', 'simple');
    expect(() => slots.acquire('g', 'simple')).toThrow(/already has 2 receives/);
    releases[7]();
    expect(() => slots.acquire('g', 'pusher', { topic: 'T', queueId: 7 })).not.toThrow();
    expect(slots.count).toBe(1_024 + 1 + 2);
  });
});
