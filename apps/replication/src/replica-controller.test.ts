import { isRmqError } from '@rmq/base';
import { createLogger } from '@rmq/observability';
import type { BrokerReport, ReplicaGroup } from '@rmq/replication';
import { ReplicaController, type ElectionResult } from './replica-controller';
import type { CasResult, Leadership, StateStore, VersionedGroup } from './state-store';

class MemoryStore implements StateStore {
  readonly kind = 'file';
  readonly groups = new Map<string, VersionedGroup>();
  writes = 0;
  private revision = 0;
  async load() {
    return [...this.groups.values()];
  }
  async compareAndSet(group: ReplicaGroup, expected: string | undefined): Promise<CasResult> {
    const current = this.groups.get(group.brokerName);
    if (current?.revision !== expected) return { ok: false, current, leadershipLost: false };
    const revision = String(++this.revision);
    this.groups.set(group.brokerName, { group, revision });
    this.writes++;
    return { ok: true, revision };
  }
  async close() {}
}

class FlagLeadership implements Leadership {
  leading = true;
  async start() {}
  isLeader() {
    return this.leading;
  }
  leaderEndpoint() {
    return this.leading ? 'me:1' : 'other:1';
  }
  async close() {}
}

const TIMEOUT_MS = 1_000;

function setUp(store = new MemoryStore()) {
  const clock = { now: 100_000, nowMs: () => clock.now };
  const leadership = new FlagLeadership();
  const fatal: Error[] = [];
  const controller = new ReplicaController({
    controllerId: 'me:1',
    store,
    leadership,
    clock,
    policy: { brokerTimeoutMs: TIMEOUT_MS, uncleanElectionAllowed: false },
    log: createLogger({}, { write: () => undefined }),
    onFatal: (error) => fatal.push(error),
  });
  const elections: [string, ElectionResult][] = [];
  controller.onElection((group, result) => elections.push([group.brokerName, result]));
  controller.onLeading();
  clock.now += TIMEOUT_MS; // past the grace period
  return { clock, store, controller, elections, leadership, fatal };
}

function report(brokerId: number, overrides: Partial<BrokerReport> = {}): BrokerReport {
  return {
    clusterName: 'c1',
    brokerName: 'broker-a',
    brokerId,
    endpoint: `127.0.0.1:${10_000 + brokerId}`,
    incarnation: `inc-${brokerId}`,
    role: 'slave',
    epoch: 0,
    epochStartLogOffset: 0,
    logEndOffset: 0,
    confirmedLogOffset: 0,
    slaves: [],
    ...overrides,
  };
}

describe('ReplicaController', () => {
  it('makes the first broker master in epoch 1 and answers the others with it, persisting before answering', async () => {
    const { controller, store } = setUp();
    expect(await controller.heartbeat(report(1))).toMatchObject({ role: 'master', epoch: 1, masterBrokerId: 1, masterAlive: true, inSyncBrokerIds: [1] });
    expect(store.groups.get('broker-a')?.group.epoch).toBe(1);
    expect(await controller.heartbeat(report(2))).toMatchObject({ role: 'slave', epoch: 1, masterBrokerId: 1, masterEndpoint: '127.0.0.1:10001' });
    expect(store.groups.get('broker-a')?.group.members.map((m) => m.brokerId)).toEqual([1, 2]);
  });

  it('records the epoch start once the master reports it, and grows the in-sync set on the master\'s request', async () => {
    const { controller } = setUp();
    await controller.heartbeat(report(1));
    await controller.heartbeat(report(2));
    const started = await controller.heartbeat(report(1, { role: 'master', epoch: 1, epochStartLogOffset: 0, logEndOffset: 500, confirmedLogOffset: 500 }));
    expect(started.epochStartLogOffset).toBe(0);
    const grown = await controller.alterInSyncSet('broker-a', {
      masterBrokerId: 1, epoch: 1, inSyncSetVersion: 1, inSyncBrokerIds: [1, 2], confirmedLogOffset: 500,
      slaves: [{ brokerId: 2, ackedLogOffset: 500, behindMs: 0 }],
    });
    expect(grown).toMatchObject({ inSyncBrokerIds: [1, 2], inSyncSetVersion: 2, role: 'master' });
    const stale = await controller.alterInSyncSet('broker-a', {
      masterBrokerId: 1, epoch: 1, inSyncSetVersion: 1, inSyncBrokerIds: [1], confirmedLogOffset: 500, slaves: [],
    }).catch((error: unknown) => error);
    expect(isRmqError(stale, 'FENCED')).toBe(true);
  });

  it('elects the live in-sync slave in the next epoch once the master is silent past the timeout', async () => {
    const { controller, clock, elections } = setUp();
    await controller.heartbeat(report(1));
    await controller.heartbeat(report(2));
    await controller.heartbeat(report(1, { role: 'master', epoch: 1, logEndOffset: 500, confirmedLogOffset: 500 }));
    await controller.alterInSyncSet('broker-a', {
      masterBrokerId: 1, epoch: 1, inSyncSetVersion: 1, inSyncBrokerIds: [1, 2], confirmedLogOffset: 500,
      slaves: [{ brokerId: 2, ackedLogOffset: 500, behindMs: 0 }],
    });
    clock.now += TIMEOUT_MS / 2;
    await controller.heartbeat(report(2, { logEndOffset: 500, epoch: 1 }));
    await controller.scan();
    expect(elections).toEqual([['broker-a', 'new_master_elected']]); // the creation in epoch 1
    clock.now += TIMEOUT_MS / 2 + 1;
    await controller.scan();
    expect(elections.at(-1)).toEqual(['broker-a', 'new_master_elected']);
    expect(await controller.heartbeat(report(2, { logEndOffset: 500, epoch: 1 }))).toMatchObject({ role: 'master', epoch: 2, masterBrokerId: 2, inSyncBrokerIds: [2] });
    // The old master comes back as a new process: a slave of broker 2.
    expect(await controller.heartbeat(report(1, { incarnation: 'inc-1b', epoch: 1, logEndOffset: 500 }))).toMatchObject({ role: 'slave', epoch: 2, masterBrokerId: 2 });
  });

  it('elects nobody when the only live slave is out of sync, and counts that once', async () => {
    const { controller, clock, elections } = setUp();
    await controller.heartbeat(report(1));
    clock.now += TIMEOUT_MS + 1;
    await controller.heartbeat(report(2));
    await controller.scan();
    await controller.scan();
    expect(elections.filter(([, result]) => result === 'no_master_elected')).toHaveLength(1);
    expect(await controller.heartbeat(report(2))).toMatchObject({ role: 'slave', epoch: 1, masterBrokerId: 1, masterAlive: false });
  });

  it('re-elects a restarted master in a new epoch, so no epoch has two processes as master', async () => {
    const { controller } = setUp();
    await controller.heartbeat(report(1));
    const again = await controller.heartbeat(report(1, { incarnation: 'inc-1-restarted', epoch: 1 }));
    expect(again).toMatchObject({ role: 'master', epoch: 2, masterBrokerId: 1 });
  });

  it('waits one broker timeout after it starts leading before it elects anyone, and then treats silent masters as dead', async () => {
    const store = new MemoryStore();
    const first = setUp(store);
    await first.controller.heartbeat(report(1));
    await first.controller.heartbeat(report(2));
    await first.controller.heartbeat(report(1, { role: 'master', epoch: 1 }));
    await first.controller.alterInSyncSet('broker-a', {
      masterBrokerId: 1, epoch: 1, inSyncSetVersion: 1, inSyncBrokerIds: [1, 2], confirmedLogOffset: 0,
      slaves: [{ brokerId: 2, ackedLogOffset: 0, behindMs: 0 }],
    });
    // A new leader over the same store: it has heard from nobody yet.
    const { controller, clock } = setUp(store);
    clock.now -= TIMEOUT_MS; // undo setUp's skip of the grace period
    controller.onLeading();
    expect(controller.inGracePeriod()).toBe(true);
    expect(await controller.heartbeat(report(2))).toMatchObject({ role: 'slave', epoch: 1, masterBrokerId: 1, masterAlive: true });
    await controller.scan();
    expect((await controller.view('broker-a')).group.epoch).toBe(1);
    clock.now += TIMEOUT_MS;
    await controller.heartbeat(report(2));
    await controller.scan();
    expect((await controller.view('broker-a')).group).toMatchObject({ epoch: 2, masterBrokerId: 2 });
  });

  it('refuses every request with NOT_LEADER naming the leader once it no longer leads', async () => {
    const { controller, leadership } = setUp();
    leadership.leading = false;
    controller.onFollowing('other:1');
    const error = await controller.heartbeat(report(1)).catch((e: unknown) => e);
    expect(isRmqError(error, 'NOT_LEADER')).toBe(true);
    expect((error as { params: Record<string, unknown> }).params.leader).toBe('other:1');
  });

  it('takes the current state from the store when a compare-and-set finds it changed, then decides again', async () => {
    const { controller, store } = setUp();
    await controller.heartbeat(report(1));
    // Another writer (an old leader in a race) moved the group on; this controller's copy is stale.
    const current = store.groups.get('broker-a')!;
    const moved = { ...current.group, members: [...current.group.members, { brokerId: 3, endpoint: '127.0.0.1:10003' }] };
    await store.compareAndSet(moved, current.revision);
    const answer = await controller.heartbeat(report(2));
    expect(answer).toMatchObject({ role: 'slave', epoch: 1 });
    expect(store.groups.get('broker-a')?.group.members.map((m) => m.brokerId)).toEqual([1, 2, 3]);
  });

  it('stops answering as soon as the store says its leadership is gone, before its campaign notices', async () => {
    const store = new MemoryStore();
    const { controller } = setUp(store);
    await controller.heartbeat(report(1));
    store.compareAndSet = async () => ({ ok: false, current: undefined, leadershipLost: true });
    const error = await controller.heartbeat(report(2)).catch((e: unknown) => e);
    expect(isRmqError(error, 'NOT_LEADER')).toBe(true);
    expect(controller.isLeader()).toBe(false);
    expect(isRmqError(await controller.heartbeat(report(1)).catch((e: unknown) => e), 'NOT_LEADER')).toBe(true);
  });

  it('re-elects a restarted master even in the grace period: its new incarnation proves the old process gone', async () => {
    const store = new MemoryStore();
    const first = setUp(store);
    await first.controller.heartbeat(report(1));
    const { controller, clock } = setUp(store);
    clock.now -= TIMEOUT_MS;
    controller.onLeading();
    expect(controller.inGracePeriod()).toBe(true);
    expect(await controller.heartbeat(report(1, { incarnation: 'inc-1-restarted', epoch: 1 }))).toMatchObject({ role: 'master', epoch: 2 });
  });
});
