import type { ReplicaGroup } from '@rmq/replication';
import { decodeGroupRecord, decodeState, encodeGroup, encodeState, StateFormatError } from './state-codec';

const group: ReplicaGroup = {
  clusterName: 'c1',
  brokerName: 'broker-a',
  epoch: 2,
  masterBrokerId: 2,
  masterIncarnation: 'inc-2',
  inSyncBrokerIds: [1, 2],
  inSyncSetVersion: 3,
  epochStartLogOffset: 4_096,
  members: [
    { brokerId: 1, endpoint: 'a:1' },
    { brokerId: 2, endpoint: 'b:1' },
  ],
};

describe('state codec', () => {
  it('reads back what it wrote, as a whole state and as one group record', () => {
    expect(decodeState(encodeState([group]), 'state.json')).toEqual([group]);
    expect(decodeGroupRecord(encodeGroup(group), 'etcd key')).toEqual(group);
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{"version":1,"groups":[]}', 'format version 1'],
    [JSON.stringify({ version: 2, groups: [{ ...group, epoch: -1 }] }), 'groups[0].epoch must be a whole number'],
    [JSON.stringify({ version: 2, groups: [{ ...group, inSyncBrokerIds: [1] }] }), 'master is in the in-sync set'],
    [JSON.stringify({ version: 2, groups: [{ ...group, inSyncBrokerIds: [2, 7] }] }), 'every in-sync broker is a member'],
    [JSON.stringify({ version: 2, groups: [group, group] }), 'appears twice'],
  ])('refuses a damaged state %#, saying what is wrong', (text, why) => {
    expect(() => decodeState(text, 'state.json')).toThrow(StateFormatError);
    expect(() => decodeState(text, 'state.json')).toThrow(why);
  });
});
