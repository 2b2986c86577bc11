import type { RoleStatus } from './shipping/replica-role';
import { LastingCondition, peerProblems } from './peer-health';

const slave = (fields: Partial<Extract<RoleStatus, { role: 'slave' }>> = {}): RoleStatus => ({
  role: 'slave', epoch: 1, committedLogOffset: 0, masterEndpoint: '10.0.0.1:8081', connected: false, masterEndLogOffset: 0, masterCommittedLogOffset: 0, lagBytes: 0, ...fields,
});
const master = { role: 'master', epoch: 1, slaves: [] } as unknown as RoleStatus;

describe('peer health', () => {
  it('measures how long a condition has held without a break', () => {
    const condition = new LastingCondition();
    expect(condition.observe(true, 1_000)).toBe(0);
    expect(condition.observe(true, 4_000)).toBe(3_000);
    expect(condition.observe(false, 5_000)).toBe(0);
    expect(condition.observe(true, 6_000)).toBe(0); // a break starts the count again
  });

  it('reports a slave without a master only once that lasted longer than the bound, with the reason', () => {
    expect(peerProblems({ replication: slave({ lastError: 'connect ECONNREFUSED' }) }, 2_000, 0, 0, 3_000)).toEqual([]);
    expect(peerProblems({ replication: slave({ lastError: 'connect ECONNREFUSED' }) }, 4_000, 0, 0, 3_000)).toEqual(['no master: cannot follow 10.0.0.1:8081 for 4 s (connect ECONNREFUSED)']);
    expect(peerProblems({ replication: slave({ masterEndpoint: '' }) }, 4_000, 0, 0, 3_000)).toEqual(['no master: no master known to follow for 4 s']);
    expect(peerProblems({ replication: master }, 60_000, 0, 0, 3_000)).toEqual([]);
  });

  it('reports a master that did not prove the cluster secret at once, in place of the lost master', () => {
    const unproven = 'the master at 10.0.0.1:8081 did not prove it holds the cluster secret: its answer carries no proof';
    expect(peerProblems({ replication: slave({ masterUnproven: unproven, lastError: unproven }) }, 0, 0, 0, 3_000)).toEqual([`master not proven: ${unproven}`]);
    expect(peerProblems({ replication: slave({ masterUnproven: unproven, lastError: unproven }) }, 60_000, 0, 0, 3_000)).toEqual([`master not proven: ${unproven}`]);
  });

  it('reports a lost controller after the bound, counting from the start when none ever answered', () => {
    const addresses = ['10.0.0.9:9878'];
    const view = (lastContactMs: number | undefined) => ({ replication: master, controller: { leader: lastContactMs === undefined ? undefined : '10.0.0.9:9878', lastContactMs, addresses } });
    expect(peerProblems(view(10_000), 0, 12_000, 0, 3_000)).toEqual([]);
    expect(peerProblems(view(10_000), 0, 14_000, 0, 3_000)).toEqual(['lost controller: no controller of 10.0.0.9:9878 answered a heartbeat for 4 s (last: 10.0.0.9:9878)']);
    expect(peerProblems(view(undefined), 0, 2_000, 0, 3_000)).toEqual([]);
    expect(peerProblems(view(undefined), 0, 5_000, 0, 3_000)).toEqual(['lost controller: no controller of 10.0.0.9:9878 answered a heartbeat since the broker started']);
  });
});
