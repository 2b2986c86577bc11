import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import type { ReplicaGroup } from './replica-groups';
import { STATE_FILE_NAME, StateFile } from './state-file';

function groupInEpoch(epoch: number): ReplicaGroup {
  return {
    clusterName: 'c1',
    brokerName: 'broker-a',
    epoch,
    masterReplicaId: 'r1',
    inSyncReplicaIds: ['r1'],
    replicas: [{ replicaId: 'r1', endpoint: 'a:1', logEndOffset: epoch * 10, lastHeartbeatMs: 5 }],
  };
}

describe('StateFile', () => {
  const dir = makeTempDir('state-file');
  afterAll(() => dir.remove());

  it('starts empty when there is no file yet, creating the data dir', async () => {
    expect(await new StateFile(join(dir.path, 'fresh', 'nested')).load()).toEqual([]);
  });

  it('loads what was saved, leaving no temp file behind', async () => {
    const path = join(dir.path, 'round-trip');
    const file = new StateFile(path);
    await file.load();
    await file.save([groupInEpoch(1)]);
    expect(await new StateFile(path).load()).toEqual([groupInEpoch(1)]);
    expect(readdirSync(path)).toEqual([STATE_FILE_NAME]);
  });

  it('coalesces saves made during a write and ends with the newest state on disk', async () => {
    const path = join(dir.path, 'coalesce');
    const file = new StateFile(path);
    await file.load();
    const saves = [1, 2, 3, 4, 5].map((epoch) => file.save([groupInEpoch(epoch)]));
    await Promise.all(saves);
    await file.settled();
    expect(await new StateFile(path).load()).toEqual([groupInEpoch(5)]);
  });

  it('refuses to start from a damaged file', async () => {
    const path = join(dir.path, 'damaged');
    const file = new StateFile(path);
    await file.load();
    writeFileSync(join(path, STATE_FILE_NAME), '{"version":1,"groups":[{}]}');
    await expect(new StateFile(path).load()).rejects.toThrow('groups[0]');
  });
});
