import fc from 'fast-check';
import { InvariantError } from '@rmq/base';
import {
  applyHeartbeat,
  assertTransition,
  electIfMasterDown,
  isAlive,
  replicaOf,
  type Heartbeat,
  type ReplicaGroup,
} from './replica-groups';

const timeoutMs = 1_000;

function beat(replicaId: string, logEndOffset: number): Heartbeat {
  return { clusterName: 'c1', brokerName: 'broker-a', replicaId, endpoint: `${replicaId}.local:10911`, logEndOffset };
}

/** Applies heartbeats in order, each at its own time. */
function groupAfter(beats: [Heartbeat, number][]): ReplicaGroup {
  let group: ReplicaGroup | undefined;
  for (const [heartbeat, nowMs] of beats) group = applyHeartbeat(group, heartbeat, nowMs, timeoutMs).group;
  if (!group) throw new Error('no heartbeats');
  return group;
}

describe('applyHeartbeat', () => {
  it('makes the first replica to report master in epoch 1 with an in-sync set of itself', () => {
    const step = applyHeartbeat(undefined, beat('r1', 100), 0, timeoutMs);
    expect(step.group).toMatchObject({ brokerName: 'broker-a', clusterName: 'c1', epoch: 1, masterReplicaId: 'r1', inSyncReplicaIds: ['r1'] });
    expect(step.election).toEqual({ kind: 'elected', masterReplicaId: 'r1', epoch: 1 });
  });

  it('adds a replica that has reached the master log end offset to the in-sync set', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 10], [beat('r3', 99), 20]]);
    expect(group.inSyncReplicaIds).toEqual(['r1', 'r2']);
    expect(group.replicas.map((r) => r.replicaId)).toEqual(['r1', 'r2', 'r3']);
    expect(group.epoch).toBe(1);
  });

  it('lets a lagging replica join once it catches up with the master', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 50), 10], [beat('r1', 150), 20], [beat('r2', 150), 30]]);
    expect(group.inSyncReplicaIds).toEqual(['r1', 'r2']);
  });

  it('keeps the latest endpoint and log end offset of a replica', () => {
    const group = groupAfter([[beat('r1', 100), 0], [{ ...beat('r1', 120), endpoint: 'moved:1' }, 10]]);
    expect(replicaOf(group, 'r1')).toEqual({ replicaId: 'r1', endpoint: 'moved:1', logEndOffset: 120, lastHeartbeatMs: 10 });
  });
});

describe('isAlive', () => {
  it('counts a replica alive while its last heartbeat is within the timeout', () => {
    const replica = { replicaId: 'r1', endpoint: 'x:1', logEndOffset: 0, lastHeartbeatMs: 1_000 };
    expect(isAlive(replica, 1_000 + timeoutMs, timeoutMs)).toBe(true);
    expect(isAlive(replica, 1_000 + timeoutMs + 1, timeoutMs)).toBe(false);
  });
});

describe('electIfMasterDown', () => {
  it('keeps a live master', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0]]);
    expect(electIfMasterDown(group, timeoutMs, timeoutMs)).toEqual({ group, election: { kind: 'none' }, changed: false });
  });

  it('elects the live in-sync replica with the highest log end offset in the next epoch', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0], [beat('r3', 100), 0], [beat('r3', 130), 500], [beat('r2', 120), 500]]);
    const step = electIfMasterDown(group, 1_200, timeoutMs);
    expect(step.election).toEqual({ kind: 'elected', masterReplicaId: 'r3', epoch: 2, previousMasterReplicaId: 'r1' });
    expect(step.group).toMatchObject({ epoch: 2, masterReplicaId: 'r3', inSyncReplicaIds: ['r3'] });
  });

  it('breaks a tie in log end offset by the smallest replica id', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r3', 100), 500], [beat('r2', 100), 500]]);
    expect(electIfMasterDown(group, 1_200, timeoutMs).group.masterReplicaId).toBe('r2');
  });

  it('never elects a replica outside the in-sync set, even one with a longer log', () => {
    // r2 joined at 100 and then lagged; r3 reported 200 while the master was at 300, so never joined.
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0], [beat('r1', 300), 100], [beat('r3', 200), 200], [beat('r2', 100), 900]]);
    expect(group.inSyncReplicaIds).toEqual(['r1', 'r2']);
    expect(electIfMasterDown(group, 1_500, timeoutMs).group).toMatchObject({ masterReplicaId: 'r2', epoch: 2 });
  });

  it('keeps the dead master when no in-sync replica is alive, however far the others got', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0], [beat('r1', 300), 100], [beat('r3', 250), 900]]);
    const step = electIfMasterDown(group, 1_500, timeoutMs);
    expect(step.election).toEqual({ kind: 'noCandidate', deadMasterReplicaId: 'r1' });
    expect(step.group).toBe(group);
    expect(step.changed).toBe(false);
  });

  it('skips in-sync replicas that are not alive', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 200), 0], [beat('r3', 100), 900]]);
    expect(electIfMasterDown(group, 1_500, timeoutMs).group.masterReplicaId).toBe('r3');
  });

  it('elects from a heartbeat too, when the master is already gone', () => {
    const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0]]);
    const step = applyHeartbeat(group, beat('r2', 100), 5_000, timeoutMs);
    expect(step.group).toMatchObject({ masterReplicaId: 'r2', epoch: 2, inSyncReplicaIds: ['r2'] });
  });
});

describe('assertTransition', () => {
  const group = groupAfter([[beat('r1', 100), 0], [beat('r2', 100), 0]]);

  it('refuses an epoch that goes back', () => {
    expect(() => assertTransition({ ...group, epoch: 3 }, { ...group, epoch: 2 })).toThrow(InvariantError);
  });

  it('refuses a new master from outside the in-sync set', () => {
    const before = { ...group, inSyncReplicaIds: ['r1'] };
    expect(() => assertTransition(before, { ...group, masterReplicaId: 'r2', epoch: 2, inSyncReplicaIds: ['r2'] })).toThrow(
      'from the in-sync set',
    );
  });
});

describe('replica group decisions (property)', () => {
  type Event = { kind: 'beat'; replica: number; logEndOffset: number; advanceMs: number } | { kind: 'scan'; advanceMs: number };
  const arbEvent: fc.Arbitrary<Event> = fc.oneof(
    fc.record({
      kind: fc.constant('beat' as const),
      replica: fc.nat({ max: 3 }),
      logEndOffset: fc.nat({ max: 1_000 }),
      advanceMs: fc.nat({ max: 700 }),
    }),
    fc.record({ kind: fc.constant('scan' as const), advanceMs: fc.nat({ max: 1_500 }) }),
  );

  it('keeps epochs, masters and in-sync sets consistent through any sequence of heartbeats and scans', () => {
    fc.assert(
      fc.property(fc.array(arbEvent, { minLength: 1, maxLength: 60 }), (events) => {
        let group: ReplicaGroup | undefined;
        let nowMs = 0;
        for (const event of events) {
          nowMs += event.advanceMs;
          if (event.kind === 'scan' && group === undefined) continue;
          const before = group;
          const step =
            event.kind === 'beat'
              ? applyHeartbeat(group, beat(`r${event.replica}`, event.logEndOffset), nowMs, timeoutMs)
              : electIfMasterDown(group!, nowMs, timeoutMs);
          group = step.group;
          expect(group.inSyncReplicaIds).toContain(group.masterReplicaId);
          if (before === undefined) {
            expect(group.epoch).toBe(1);
            continue;
          }
          expect(group.epoch).toBeGreaterThanOrEqual(before.epoch);
          if (step.election.kind === 'elected') {
            const elected = replicaOf(group, step.election.masterReplicaId)!;
            expect(group.epoch).toBe(before.epoch + 1);
            expect(group.inSyncReplicaIds).toEqual([elected.replicaId]);
            expect(isAlive(elected, nowMs, timeoutMs)).toBe(true);
            // Eligible: in sync before this step (or joined by this very heartbeat) and not the old master.
            const eligible = group.replicas.filter(
              (r) =>
                r.replicaId !== before.masterReplicaId &&
                isAlive(r, nowMs, timeoutMs) &&
                (before.inSyncReplicaIds.includes(r.replicaId) ||
                  (event.kind === 'beat' && r.replicaId === `r${event.replica}` && r.logEndOffset >= replicaOf(before, before.masterReplicaId)!.logEndOffset)),
            );
            expect(eligible.map((r) => r.replicaId)).toContain(elected.replicaId);
            expect(Math.max(...eligible.map((r) => r.logEndOffset))).toBe(elected.logEndOffset);
          } else {
            expect(group.masterReplicaId).toBe(before.masterReplicaId);
            expect(group.epoch).toBe(before.epoch);
          }
          if (step.election.kind === 'noCandidate') {
            const master = replicaOf(group, group.masterReplicaId)!;
            expect(isAlive(master, nowMs, timeoutMs)).toBe(false);
            const live = group.inSyncReplicaIds.filter((id) => id !== group!.masterReplicaId && isAlive(replicaOf(group!, id)!, nowMs, timeoutMs));
            expect(live).toEqual([]);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
