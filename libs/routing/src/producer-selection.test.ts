import fc from 'fast-check';
import { BrokerHealth } from './broker-health';
import { AVOID_MS_INITIAL, AVOID_MS_MAX, SLOW_PROBE_EVERY } from './limits';
import { selectBroker, type WritableBroker } from './producer-selection';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const brokers: WritableBroker[] = [
  { brokerName: 'broker-c', endpoint: 'c:1', zone: 'zone-2' },
  { brokerName: 'broker-a', endpoint: 'a:1', zone: 'zone-1' },
  { brokerName: 'broker-b', endpoint: 'b:1', zone: 'zone-1' },
];
const pick = (overrides: Partial<Parameters<typeof selectBroker>[0]>, rounds = 6) =>
  Array.from({ length: rounds }, (_, rotation) => selectBroker({ brokers, avoided: new Set(), rotation, ...overrides })?.brokerName);

describe('selectBroker', () => {
  it('goes round robin over every writable broker', () => {
    expect(pick({})).toEqual(['broker-a', 'broker-b', 'broker-c', 'broker-a', 'broker-b', 'broker-c']);
  });

  it('prefers the producer\'s zone, and falls back to the others when none there is healthy', () => {
    expect(pick({ zone: 'zone-1' }, 4)).toEqual(['broker-a', 'broker-b', 'broker-a', 'broker-b']);
    expect(pick({ zone: 'zone-1', avoided: new Set(['broker-a', 'broker-b']) }, 2)).toEqual(['broker-c', 'broker-c']);
  });

  it('avoids unhealthy brokers while a healthy one exists, and sends to an unhealthy one rather than nowhere', () => {
    expect(pick({ avoided: new Set(['broker-b']) }, 4)).toEqual(['broker-a', 'broker-c', 'broker-a', 'broker-c']);
    expect(pick({ avoided: new Set(['broker-a', 'broker-b', 'broker-c']) }, 3)).toEqual(['broker-a', 'broker-b', 'broker-c']);
  });

  it('retries a message on a broker it has not tried yet', () => {
    expect(pick({ tried: new Set(['broker-a']) }, 2)).toEqual(['broker-b', 'broker-c']);
  });

  it(`keeps every message of a message group on one broker, whatever the health and rotation (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.nat(), fc.subarray(brokers.map((b) => b.brokerName)), (group, rotation, avoided) => {
        const first = selectBroker({ brokers, messageGroup: group, avoided: new Set(), rotation: 0 });
        expect(selectBroker({ brokers: [...brokers].reverse(), messageGroup: group, avoided: new Set(avoided), rotation })).toEqual(first);
      }),
      { numRuns: 200, seed: FC_SEED },
    );
  });

  it('has no broker to offer for a topic without writable brokers', () => {
    expect(selectBroker({ brokers: [], avoided: new Set(), rotation: 0 })).toBeUndefined();
  });
});

describe('BrokerHealth', () => {
  it('avoids a failed broker for a time that doubles per failure, and forgets it after a success', () => {
    const health = new BrokerHealth();
    health.failed('b', 0);
    expect(health.avoided(AVOID_MS_INITIAL - 1)).toEqual(new Set(['b']));
    expect(health.avoided(AVOID_MS_INITIAL)).toEqual(new Set());
    health.failed('b', 10_000);
    expect(health.avoided(10_000 + 2 * AVOID_MS_INITIAL - 1)).toEqual(new Set(['b']));
    for (let i = 0; i < 20; i++) health.failed('b', 20_000);
    expect(health.avoided(20_000 + AVOID_MS_MAX - 1)).toEqual(new Set(['b']));
    expect(health.avoided(20_000 + AVOID_MS_MAX)).toEqual(new Set());
    health.failed('b', 100_000);
    health.succeeded('b', 5, 100_001);
    expect(health.avoided(100_002)).toEqual(new Set());
  });

  it('avoids a broker far slower than the fastest, but probes it now and then so it can recover', () => {
    const health = new BrokerHealth();
    for (let i = 0; i < 10; i++) {
      health.succeeded('fast', 2, i);
      health.succeeded('slow', 400, i);
    }
    const rounds = Array.from({ length: SLOW_PROBE_EVERY * 2 }, (_, i) => health.avoided(100 + i).has('slow'));
    expect(rounds.filter((avoided) => !avoided)).toHaveLength(2);
    for (let i = 0; i < 40; i++) health.succeeded('slow', 2, 200 + i); // it got fast again
    expect(health.avoided(300).has('slow')).toBe(false);
  });
});
