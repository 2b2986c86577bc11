import fc from 'fast-check';
import { isRmqError } from '@rmq/base';
import { PERM_READ, PERM_READ_WRITE, PERM_WRITE, type BrokerIdentity, type BrokerRegistration, type TopicConfig } from './broker-registration';
import { BROKER_COUNT_MAX, clampLeaseMs, LEASE_MS_DEFAULT, LEASE_MS_MAX, LEASE_MS_MIN } from './limits';
import { RouteRegistry } from './route-registry';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const fcOptions = { numRuns: 300, seed: FC_SEED };

function topic(name: string, overrides: Partial<TopicConfig> = {}): TopicConfig {
  return { name, readQueueCount: 4, writeQueueCount: 4, perm: PERM_READ_WRITE, messageType: 'NORMAL', ...overrides };
}

function broker(brokerName: string, overrides: Partial<BrokerRegistration> & { brokerId?: number } = {}): BrokerRegistration {
  const { brokerId = 0, ...rest } = overrides;
  return {
    identity: { clusterName: 'DefaultCluster', brokerName, brokerId },
    endpoint: `127.0.0.1:${10911 + brokerId}`,
    zone: 'zone-a',
    brokerPerm: PERM_READ_WRITE,
    topics: [topic('orders')],
    leaseMs: 10_000,
    ...rest,
  };
}

function badRequestReason(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isRmqError(error, 'BAD_REQUEST')) return String(error.params.reason);
    throw error;
  }
  throw new Error('expected a BAD_REQUEST');
}

describe('RouteRegistry', () => {
  it('routes a topic to the queues and endpoint of the broker that registered it', () => {
    const registry = new RouteRegistry();
    expect(registry.register(broker('broker-a'), 1_000)).toEqual({ leaseMs: 10_000, isNew: true });
    expect(registry.routeOf('orders')).toEqual({
      topic: 'orders',
      queues: [{ brokerName: 'broker-a', readQueueCount: 4, writeQueueCount: 4, perm: PERM_READ_WRITE, messageType: 'NORMAL' }],
      brokers: [{ identity: { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0 }, endpoint: '127.0.0.1:10911', zone: 'zone-a' }],
    });
  });

  it('has no route for a topic no live broker holds', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a'), 0);
    expect(registry.routeOf('payments')).toBeUndefined();
  });

  it('lists one queue entry per broker group, from its lowest live broker id, and every member of the group', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-b', { topics: [topic('orders', { readQueueCount: 8, writeQueueCount: 8 })] }), 0);
    registry.register(broker('broker-a', { brokerId: 1, brokerPerm: PERM_READ, topics: [topic('orders', { readQueueCount: 2 })] }), 0);
    registry.register(broker('broker-a', { brokerId: 0, topics: [topic('orders', { readQueueCount: 4 })] }), 0);
    const route = registry.routeOf('orders')!;
    expect(route.queues.map((q) => [q.brokerName, q.readQueueCount])).toEqual([
      ['broker-a', 4],
      ['broker-b', 8],
    ]);
    expect(route.brokers.map((b) => [b.identity.brokerName, b.identity.brokerId])).toEqual([
      ['broker-a', 0],
      ['broker-a', 1],
      ['broker-b', 0],
    ]);

    registry.unregister({ clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0 });
    expect(registry.routeOf('orders')!.queues[0]).toMatchObject({ brokerName: 'broker-a', readQueueCount: 2, perm: PERM_READ });
  });

  it('clears WRITE from the queues of a broker that refuses writes', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { brokerPerm: PERM_READ }), 0);
    expect(registry.routeOf('orders')!.queues[0].perm).toBe(PERM_READ);
  });

  it('replaces the topic table on every registration', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { topics: [topic('orders')] }), 0);
    expect(registry.register(broker('broker-a', { topics: [topic('payments', { messageType: 'FIFO' })] }), 1).isNew).toBe(false);
    expect(registry.routeOf('orders')).toBeUndefined();
    expect(registry.routeOf('payments')!.queues[0].messageType).toBe('FIFO');
    expect(registry.stats()).toEqual({ liveBrokerCount: 1, topicCount: 1 });
  });

  it('expires a broker when its lease runs out and renews the lease on each registration', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { leaseMs: 5_000 }), 0);
    registry.register(broker('broker-a', { leaseMs: 5_000 }), 4_000);
    expect(registry.expire(8_999)).toEqual([]);
    const expired = registry.expire(9_000);
    expect(expired.map((b) => [b.identity.brokerName, b.lastHeartbeatMs, b.expiresAtMs])).toEqual([['broker-a', 4_000, 9_000]]);
    expect(registry.routeOf('orders')).toBeUndefined();
    expect(registry.clusterInfo()).toEqual([]);
  });

  it('removes a broker at once on unregister, and ignores an unknown one', () => {
    const registry = new RouteRegistry();
    const identity: BrokerIdentity = { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0 };
    registry.register(broker('broker-a'), 0);
    expect(registry.unregister(identity)?.identity).toEqual(identity);
    expect(registry.routeOf('orders')).toBeUndefined();
    expect(registry.unregister(identity)).toBeUndefined();
  });

  it.each([
    [0, LEASE_MS_DEFAULT],
    [-5, LEASE_MS_DEFAULT],
    [1, LEASE_MS_MIN],
    [60_000, 60_000],
    [10 ** 12, LEASE_MS_MAX],
  ])('grants a lease of %p ms as %p ms', (askedMs, grantedMs) => {
    expect(new RouteRegistry().register(broker('broker-a', { leaseMs: askedMs }), 0).leaseMs).toBe(grantedMs);
  });

  it.each<[string, Partial<BrokerRegistration>, string]>([
    ['an empty broker name', { identity: { clusterName: 'c', brokerName: '', brokerId: 0 } }, 'broker name is empty'],
    ['a negative broker id', { identity: { clusterName: 'c', brokerName: 'b', brokerId: -1 } }, 'broker id'],
    ['an endpoint without a port', { endpoint: 'localhost' }, 'host:port'],
    ['an endpoint with port 0', { endpoint: 'localhost:0' }, 'host:port'],
    ['an empty topic name', { topics: [topic('')] }, 'the name is empty'],
    ['a topic listed twice', { topics: [topic('t'), topic('t')] }, 'listed twice'],
    ['a negative queue count', { topics: [topic('t', { writeQueueCount: -1 })] }, 'write queue count'],
    ['unknown perm bits', { brokerPerm: 64 }, 'broker perm'],
  ])('refuses %s with a reason', (_what, overrides, reason) => {
    const registry = new RouteRegistry();
    expect(badRequestReason(() => registry.register(broker('broker-a', overrides), 0))).toContain(reason);
    expect(registry.clusterInfo()).toEqual([]);
  });

  it('refuses a broker name that is live in another cluster', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a'), 0);
    const other = broker('broker-a', { identity: { clusterName: 'Other', brokerName: 'broker-a', brokerId: 1 } });
    expect(badRequestReason(() => registry.register(other, 0))).toContain('already registered in cluster DefaultCluster');
  });

  it(`refuses a new broker beyond ${BROKER_COUNT_MAX} live ones but still renews existing ones`, () => {
    const registry = new RouteRegistry();
    for (let i = 0; i < BROKER_COUNT_MAX; i++) registry.register(broker(`b${i}`, { topics: [] }), 0);
    expect(() => registry.register(broker('one-more'), 0)).toThrow(expect.objectContaining({ code: 'TOO_MANY_REQUESTS' }));
    expect(registry.register(broker('b0', { topics: [] }), 1).isNew).toBe(false);
  });

  it('keeps its own copy of a registration', () => {
    const registry = new RouteRegistry();
    const registration = broker('broker-a');
    registry.register(registration, 0);
    (registration.topics as TopicConfig[]).push(topic('sneaky'));
    registration.identity.brokerName = 'renamed';
    expect(registry.routeOf('sneaky')).toBeUndefined();
    expect(registry.clusterInfo()[0].identity.brokerName).toBe('broker-a');
  });
});

describe('RouteRegistry properties', () => {
  const brokerNames = ['broker-a', 'broker-b', 'broker-c'];
  const topicNames = ['orders', 'payments', 'audit'];

  const arbRegistration = fc.record({
    brokerName: fc.constantFrom(...brokerNames),
    brokerId: fc.integer({ min: 0, max: 2 }),
    brokerPerm: fc.constantFrom(PERM_READ_WRITE, PERM_READ, PERM_WRITE, 0),
    topics: fc.uniqueArray(fc.constantFrom(...topicNames), { maxLength: topicNames.length }),
    leaseMs: fc.integer({ min: -1_000, max: 200_000 }),
  });
  type Step =
    | { kind: 'register'; atMs: number; registration: BrokerRegistration }
    | { kind: 'unregister'; identity: BrokerIdentity }
    | { kind: 'expire'; atMs: number };
  const arbStep: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('register' as const), atMs: fc.integer({ min: 0, max: 300_000 }), registration: arbRegistration.map(toRegistration) }),
    fc.record({ kind: fc.constant('unregister' as const), identity: arbRegistration.map((r) => toRegistration(r).identity) }),
    fc.record({ kind: fc.constant('expire' as const), atMs: fc.integer({ min: 0, max: 300_000 }) }),
  );

  function toRegistration(r: { brokerName: string; brokerId: number; brokerPerm: number; topics: string[]; leaseMs: number }): BrokerRegistration {
    return broker(r.brokerName, { brokerId: r.brokerId, brokerPerm: r.brokerPerm, leaseMs: r.leaseMs, topics: r.topics.map((name) => topic(name)) });
  }

  it('never routes to a broker once expire() ran past its lease', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 40 }), fc.integer({ min: 0, max: 600_000 }), (steps, nowMs) => {
        const registry = new RouteRegistry();
        for (const step of steps) apply(registry, step);
        const before = registry.clusterInfo();
        const expired = registry.expire(nowMs);
        const expiredKeys = new Set(expired.map((b) => JSON.stringify(b.identity)));
        expect(expired.every((b) => b.expiresAtMs <= nowMs)).toBe(true);
        expect(before.filter((b) => b.expiresAtMs <= nowMs).length).toBe(expired.length);
        for (const name of topicNames) {
          for (const endpoint of registry.routeOf(name)?.brokers ?? []) {
            expect(expiredKeys.has(JSON.stringify(endpoint.identity))).toBe(false);
          }
        }
        expect(registry.clusterInfo().every((b) => b.expiresAtMs > nowMs)).toBe(true);
      }),
      fcOptions,
    );
  });

  it('agrees with a simple model of who is live and which groups hold a topic', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 40 }), (steps) => {
        const registry = new RouteRegistry();
        const model = new Map<string, { registration: BrokerRegistration; expiresAtMs: number }>();
        for (const step of steps) {
          apply(registry, step);
          if (step.kind === 'register') {
            const expiresAtMs = step.atMs + clampLeaseMs(step.registration.leaseMs);
            model.set(JSON.stringify(step.registration.identity), { registration: step.registration, expiresAtMs });
          }
          if (step.kind === 'unregister') model.delete(JSON.stringify(step.identity));
          if (step.kind === 'expire') {
            for (const [key, entry] of model) if (step.atMs >= entry.expiresAtMs) model.delete(key);
          }
        }
        expect(new Set(registry.clusterInfo().map((b) => JSON.stringify(b.identity)))).toEqual(new Set(model.keys()));
        for (const name of topicNames) {
          const holders = [...model.values()].map((entry) => entry.registration).filter((r) => r.topics.some((t) => t.name === name));
          const groups = new Set(holders.map((r) => r.identity.brokerName));
          const route = registry.routeOf(name);
          expect(route?.queues.map((q) => q.brokerName) ?? []).toEqual([...groups].sort());
          for (const queue of route?.queues ?? []) {
            const holder = holders.filter((r) => r.identity.brokerName === queue.brokerName).sort((a, b) => a.identity.brokerId - b.identity.brokerId)[0];
            expect(queue.perm & ~holder.brokerPerm & PERM_READ_WRITE).toBe(0);
          }
        }
      }),
      fcOptions,
    );
  });

  it('always grants a lease within its bounds', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (leaseMs) => {
        const granted = new RouteRegistry().register(broker('broker-a', { leaseMs }), 0).leaseMs;
        expect(granted).toBeGreaterThanOrEqual(LEASE_MS_MIN);
        expect(granted).toBeLessThanOrEqual(LEASE_MS_MAX);
      }),
      fcOptions,
    );
  });

  function apply(registry: RouteRegistry, step: Step): void {
    if (step.kind === 'register') registry.register(step.registration, step.atMs);
    else if (step.kind === 'unregister') registry.unregister(step.identity);
    else registry.expire(step.atMs);
  }
});
