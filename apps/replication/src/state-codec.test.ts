import { decodeState, encodeState, StateFormatError } from './state-codec';
import type { ReplicaGroup } from './replica-groups';

const group: ReplicaGroup = {
  clusterName: 'c1',
  brokerName: 'broker-a',
  epoch: 2,
  masterReplicaId: 'r2',
  inSyncReplicaIds: ['r2'],
  replicas: [
    { replicaId: 'r1', endpoint: 'a:1', logEndOffset: 100, lastHeartbeatMs: 1_700_000_000_000 },
    { replicaId: 'r2', endpoint: 'b:1', logEndOffset: 120, lastHeartbeatMs: 1_700_000_000_500 },
  ],
};

describe('state codec', () => {
  it('reads back what it wrote', () => {
    expect(decodeState(encodeState([group]), 'state.json')).toEqual([group]);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{"version":2,"groups":[]}', 'format version 2'],
    [JSON.stringify({ version: 1, groups: [{ ...group, epoch: -1 }] }), 'groups[0].epoch must be a whole number'],
    [JSON.stringify({ version: 1, groups: [{ ...group, inSyncReplicaIds: ['r1'] }] }), 'master is in the in-sync set'],
    [JSON.stringify({ version: 1, groups: [group, group] }), 'appears twice'],
  ])('refuses a damaged file %#, saying what is wrong', (text, why) => {
    expect(() => decodeState(text, 'state.json')).toThrow(StateFormatError);
    expect(() => decodeState(text, 'state.json')).toThrow(why);
  });
});
