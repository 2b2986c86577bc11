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
    role: 'master',
    epoch: 0,
    ...rest,
  };
}

function slave(brokerName: string, brokerId: number, epoch: number, overrides: Partial<BrokerRegistration> = {}): BrokerRegistration {
  return broker(brokerName, { brokerId, role: 'slave', epoch, ...overrides });
}

function routedIds(registry: RouteRegistry, topicName = 'orders'): [number, string][] {
  return (registry.routeOf(topicName)?.brokers ?? []).map((b) => [b.identity.brokerId, b.role]);
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
    expect(registry.register(broker('broker-a'), 1_000)).toEqual({ leaseMs: 10_000, isNew: true, roleChanged: true, routed: true, conflictingMasters: [] });
    expect(registry.routeOf('orders')).toEqual({
      topic: 'orders',
      queues: [{ brokerName: 'broker-a', readQueueCount: 4, writeQueueCount: 4, perm: PERM_READ_WRITE, messageType: 'NORMAL' }],
      brokers: [{ identity: { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0 }, endpoint: '127.0.0.1:10911', zone: 'zone-a', role: 'master', epoch: 0 }],
    });
  });

  it('has no route for a topic no live broker holds', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a'), 0);
    expect(registry.routeOf('payments')).toBeUndefined();
  });

  it('lists one queue entry per broker group, from its master, and the master then the slaves of each group', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-b', { topics: [topic('orders', { readQueueCount: 8, writeQueueCount: 8 })] }), 0);
    registry.register(slave('broker-a', 0, 0, { brokerPerm: PERM_READ, topics: [topic('orders', { readQueueCount: 2 })] }), 0);
    registry.register(broker('broker-a', { brokerId: 1, topics: [topic('orders', { readQueueCount: 4 })] }), 0);
    const route = registry.routeOf('orders')!;
    expect(route.queues.map((q) => [q.brokerName, q.readQueueCount])).toEqual([
      ['broker-a', 4],
      ['broker-b', 8],
    ]);
    expect(route.brokers.map((b) => [b.identity.brokerName, b.identity.brokerId, b.role])).toEqual([
      ['broker-a', 1, 'master'],
      ['broker-a', 0, 'slave'],
      ['broker-b', 0, 'master'],
    ]);

    // With no master, the slaves stay routed (they hold calls until one is elected) and speak for the queues.
    registry.unregister({ clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 1 });
    expect(registry.routeOf('orders')!.queues[0]).toMatchObject({ brokerName: 'broker-a', readQueueCount: 2, perm: PERM_READ });
    expect(routedIds(registry).slice(0, 1)).toEqual([[0, 'slave']]);
  });

  it('routes the master of the highest epoch, whatever the broker ids, and only the slaves of that epoch', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { brokerId: 0, epoch: 1 }), 0);
    registry.register(slave('broker-a', 1, 1), 0);
    registry.register(slave('broker-a', 2, 1), 0);
    expect(routedIds(registry)).toEqual([[0, 'master'], [1, 'slave'], [2, 'slave']]);

    // Broker 1 is elected in epoch 2; broker 0 (still alive, still claiming epoch 1) drops out at once.
    const promoted = registry.register(broker('broker-a', { brokerId: 1, epoch: 2 }), 10);
    expect(promoted).toMatchObject({ routed: true, roleChanged: true, conflictingMasters: [] });
    expect(routedIds(registry)).toEqual([[1, 'master']]);
    expect(registry.register(broker('broker-a', { brokerId: 0, epoch: 1 }), 11)).toMatchObject({ routed: false, roleChanged: false });
    registry.register(slave('broker-a', 2, 2), 12);
    registry.register(slave('broker-a', 0, 2), 13);
    expect(routedIds(registry)).toEqual([[1, 'master'], [0, 'slave'], [2, 'slave']]);
    expect(registry.groupEpoch('DefaultCluster', 'broker-a')).toBe(2);
    expect(registry.clusterInfo().map((b) => [b.identity.brokerId, b.role, b.epoch, b.routed])).toEqual([
      [0, 'slave', 2, true],
      [1, 'master', 2, true],
      [2, 'slave', 2, true],
    ]);
  });

  it('remembers the highest epoch after its master is gone, so a master of an older epoch is not routed again', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { brokerId: 1, epoch: 2, leaseMs: 5_000 }), 0);
    registry.expire(5_000);
    expect(registry.register(broker('broker-a', { brokerId: 0, epoch: 1 }), 6_000).routed).toBe(false);
    expect(registry.routeOf('orders')).toBeUndefined();
    expect(registry.clusterInfo().map((b) => b.routed)).toEqual([false]);
  });

  it('names a group\'s current master and slaves by broker name alone, and knows a group whose members are gone', () => {
    const registry = new RouteRegistry();
    expect(registry.groupOf('broker-a')).toBeUndefined();
    registry.register(broker('broker-a', { brokerId: 0, epoch: 1, leaseMs: 5_000 }), 0);
    registry.register(slave('broker-a', 1, 1, { leaseMs: 5_000 }), 0);
    const members = (group = registry.groupOf('broker-a')) => group && [group.epoch, group.master?.endpoint, group.slaves.map((s) => s.endpoint)];
    expect(members()).toEqual([1, '127.0.0.1:10911', ['127.0.0.1:10912']]);
    // Broker 1 takes over in epoch 2: it is the master, broker 0 (still claiming epoch 1) is nobody.
    registry.register(broker('broker-a', { brokerId: 1, epoch: 2, leaseMs: 5_000 }), 1_000);
    expect(members()).toEqual([2, '127.0.0.1:10912', []]);
    expect(registry.groupOf('broker-a')?.clusterName).toBe('DefaultCluster');
    registry.expire(10_000);
    expect(members()).toEqual([2, undefined, []]);
    expect(registry.groupOf('broker-b')).toBeUndefined();
  });

  it('resolves two masters of one epoch to the newer claim and reports the conflict', () => {
    const registry = new RouteRegistry();
    registry.register(broker('broker-a', { brokerId: 0, epoch: 3 }), 100);
    const second = registry.register(broker('broker-a', { brokerId: 1, epoch: 3 }), 200);
    expect(second.conflictingMasters).toEqual([{ clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0 }]);
    expect(routedIds(registry)).toEqual([[1, 'master']]);
    // A renewal is not a new claim: the newer master keeps the route.
    registry.register(broker('broker-a', { brokerId: 0, epoch: 3 }), 300);
    expect(routedIds(registry)).toEqual([[1, 'master']]);
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
    ['a negative epoch', { epoch: -1 }, 'epoch must be'],
    ['an unknown role', { role: 'leader' as never }, 'role must be master or slave'],
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
    role: fc.constantFrom('master' as const, 'slave' as const),
    epoch: fc.integer({ min: 0, max: 3 }),
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

  function toRegistration(r: { brokerName: string; brokerId: number; brokerPerm: number; topics: string[]; leaseMs: number; role: 'master' | 'slave'; epoch: number }): BrokerRegistration {
    return broker(r.brokerName, { brokerId: r.brokerId, brokerPerm: r.brokerPerm, leaseMs: r.leaseMs, topics: r.topics.map((name) => topic(name)), role: r.role, epoch: r.epoch });
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

  it('agrees with a simple model of who is live, which members are routed and which groups hold a topic', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 40 }), (steps) => {
        const registry = new RouteRegistry();
        const model = new Map<string, { registration: BrokerRegistration; expiresAtMs: number; claimedAtMs: number }>();
        const highestEpoch = new Map<string, number>();
        for (const step of steps) {
          apply(registry, step);
          if (step.kind === 'register') {
            const { registration, atMs } = step;
            const key = JSON.stringify(registration.identity);
            const previous = model.get(key);
            const sameClaim = previous && previous.registration.role === registration.role && previous.registration.epoch === registration.epoch;
            model.set(key, { registration, expiresAtMs: atMs + clampLeaseMs(registration.leaseMs), claimedAtMs: sameClaim ? previous.claimedAtMs : atMs });
            const group = registration.identity.brokerName;
            highestEpoch.set(group, Math.max(highestEpoch.get(group) ?? 0, registration.epoch));
          }
          if (step.kind === 'unregister') model.delete(JSON.stringify(step.identity));
          if (step.kind === 'expire') {
            for (const [key, entry] of model) if (step.atMs >= entry.expiresAtMs) model.delete(key);
          }
        }
        expect(new Set(registry.clusterInfo().map((b) => JSON.stringify(b.identity)))).toEqual(new Set(model.keys()));
        // Routed: the live members of the group's highest epoch ever registered; of its masters, the newest claim.
        const routed = new Map<string, BrokerRegistration[]>();
        for (const group of brokerNames) {
          const current = [...model.values()].filter((e) => e.registration.identity.brokerName === group && e.registration.epoch === highestEpoch.get(group));
          const master = current
            .filter((e) => e.registration.role === 'master')
            .sort((a, b) => b.claimedAtMs - a.claimedAtMs || a.registration.identity.brokerId - b.registration.identity.brokerId)[0];
          const slaves = current.filter((e) => e.registration.role === 'slave').sort((a, b) => a.registration.identity.brokerId - b.registration.identity.brokerId);
          routed.set(group, [...(master ? [master] : []), ...slaves].map((e) => e.registration));
        }
        for (const name of topicNames) {
          const route = registry.routeOf(name);
          const groups = brokerNames.filter((group) => routed.get(group)!.some((r) => r.topics.some((t) => t.name === name)));
          expect(route?.queues.map((q) => q.brokerName) ?? []).toEqual(groups);
          for (const queue of route?.queues ?? []) {
            const members = routed.get(queue.brokerName)!;
            expect(route!.brokers.filter((b) => b.identity.brokerName === queue.brokerName).map((b) => b.identity.brokerId)).toEqual(members.map((r) => r.identity.brokerId));
            const holder = members.find((r) => r.topics.some((t) => t.name === name))!;
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
