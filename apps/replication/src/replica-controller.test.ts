import { isRmqError } from '@rmq/base';
import { createLogger } from '@rmq/observability';
import { ReplicaController, type ElectionResult } from './replica-controller';
import type { Heartbeat, ReplicaGroup } from './replica-groups';
import type { StateStore } from './state-file';

class MemoryStore implements StateStore {
  saved: ReplicaGroup[][] = [];
  constructor(private readonly initial: ReplicaGroup[] = []) {}
  async load() {
    return this.initial;
  }
  async save(groups: readonly ReplicaGroup[]) {
    this.saved.push([...groups]);
  }
  async settled() {}
}

async function setUp(initial: ReplicaGroup[] = []) {
  const clock = { now: 0, nowMs: () => clock.now };
  const store = new MemoryStore(initial);
  const controller = await ReplicaController.open({
    store,
    clock,
    replicaTimeoutMs: 1_000,
    log: createLogger({}, { write: () => undefined }),
    onInvariantBroken: () => undefined,
  });
  const elections: [string, ElectionResult][] = [];
  controller.onElection((group, result) => elections.push([group.brokerName, result]));
  return { clock, store, controller, elections };
}

const beat = (replicaId: string, logEndOffset: number, brokerName = 'broker-a'): Heartbeat => ({
  clusterName: 'c1',
  brokerName,
  replicaId,
  endpoint: `${replicaId}:1`,
  logEndOffset,
});

describe('ReplicaController', () => {
  it('answers a heartbeat with the role and epoch it has just persisted', async () => {
    const { controller, store } = await setUp();
    expect(await controller.heartbeat(beat('r1', 10))).toEqual({ role: 'master', epoch: 1, masterReplicaId: 'r1', masterEndpoint: 'r1:1' });
    expect(await controller.heartbeat(beat('r2', 10))).toMatchObject({ role: 'slave', epoch: 1 });
    expect(store.saved.at(-1)?.[0]).toMatchObject({ masterReplicaId: 'r1', inSyncReplicaIds: ['r1', 'r2'] });
  });

  it('elects on a scan once the master has been silent past the timeout, and persists the new epoch', async () => {
    const { controller, store, clock, elections } = await setUp();
    await controller.heartbeat(beat('r1', 10));
    await controller.heartbeat(beat('r2', 10));
    clock.now = 900;
    await controller.heartbeat(beat('r2', 10));
    clock.now = 1_500;
    await controller.scan();
    expect(store.saved.at(-1)?.[0]).toMatchObject({ masterReplicaId: 'r2', epoch: 2, inSyncReplicaIds: ['r2'] });
    expect(elections).toEqual([
      ['broker-a', 'new_master_elected'],
      ['broker-a', 'new_master_elected'],
    ]);
  });

  it('counts an outage with no live in-sync replica once, however many scans see it', async () => {
    const { controller, clock, elections } = await setUp();
    await controller.heartbeat(beat('r1', 10));
    clock.now = 5_000;
    await controller.scan();
    await controller.scan();
    await controller.heartbeat(beat('r3', 5));
    expect(elections.filter(([, result]) => result === 'no_master_elected')).toHaveLength(1);
    expect((await controller.group('broker-a')).group).toMatchObject({ masterReplicaId: 'r1', epoch: 1 });
  });

  it('refuses a heartbeat that puts a group in a second cluster', async () => {
    const { controller } = await setUp();
    await controller.heartbeat(beat('r1', 10));
    const error = await controller.heartbeat({ ...beat('r2', 10), clusterName: 'other' }).catch((e: unknown) => e);
    expect(isRmqError(error, 'BAD_REQUEST')).toBe(true);
  });

  it('says NOT_FOUND for a group no replica has reported', async () => {
    const { controller } = await setUp();
    const error = await controller.group('nobody').catch((e: unknown) => e);
    expect(isRmqError(error, 'NOT_FOUND')).toBe(true);
    expect((error as Error).message).toBe('replica group nobody does not exist');
  });
});
