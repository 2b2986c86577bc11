import { PERM_READ, PERM_READ_WRITE } from './broker-registration';
import { preferZone } from './zone-preference';

const brokers = [
  { brokerName: 'a', zone: 'zone-1', perm: PERM_READ_WRITE },
  { brokerName: 'b', zone: 'zone-2', perm: PERM_READ_WRITE },
  { brokerName: 'c', zone: 'zone-2', perm: PERM_READ },
];

describe('preferZone', () => {
  it('leaves other zones readable but not writable while the client\'s zone has a writable broker', () => {
    expect(preferZone(brokers, 'zone-2').map((broker) => [broker.brokerName, broker.perm])).toEqual([['a', PERM_READ], ['b', PERM_READ_WRITE], ['c', PERM_READ]]);
  });

  it('gives every broker as it is when the client\'s zone has no writable broker, or the client names no zone', () => {
    expect(preferZone(brokers, 'zone-3')).toEqual(brokers);
    expect(preferZone([brokers[0], brokers[2]], 'zone-2')).toEqual([brokers[0], brokers[2]]);
    expect(preferZone(brokers, '')).toEqual(brokers);
  });
});
