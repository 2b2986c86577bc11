import type { EpochEntry } from '@rmq/store';
import fc from 'fast-check';
import type { Assignment } from './replica-group';
import { RoleMachine, type RoleAction, type RoleEvent } from './role-machine';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const ME = 1;

function assignment(overrides: Partial<Assignment>): Assignment {
  return {
    clusterName: 'c1',
    brokerName: 'g',
    role: 'slave',
    epoch: 1,
    masterBrokerId: 2,
    masterEndpoint: 'h:2',
    masterAlive: true,
    inSyncBrokerIds: [2],
    inSyncSetVersion: 1,
    ...overrides,
  };
}

describe('RoleMachine', () => {
  it('starts as a slave that follows nobody and refuses writes until the controller speaks', () => {
    const machine = new RoleMachine(ME);
    expect(machine.phase()).toEqual({ kind: 'standby', epoch: 0 });
    expect(machine.writable()).toBe(false);
    expect(machine.role()).toBe('slave');
  });

  it('becomes master in order: epoch file first, then serving, then the name servers at once', () => {
    const machine = new RoleMachine(ME);
    const master = assignment({ role: 'master', epoch: 3, masterBrokerId: ME, inSyncBrokerIds: [ME], inSyncSetVersion: 5 });
    expect(machine.handle({ kind: 'assignment', assignment: master })).toEqual([{ kind: 'beginEpoch', epoch: 3 }]);
    expect(machine.writable()).toBe(false);
    expect(machine.handle({ kind: 'assignment', assignment: master })).toEqual([]); // a repeat while the epoch is written
    expect(machine.handle({ kind: 'epochWritten', epoch: 3, startLogOffset: 700 })).toEqual([
      { kind: 'serveAsMaster', epoch: 3, startLogOffset: 700, inSyncBrokerIds: [ME], inSyncSetVersion: 5 },
      { kind: 'registerWithNameServers', role: 'master', epoch: 3 },
    ]);
    expect(machine.writable()).toBe(true);
    expect(machine.handle({ kind: 'assignment', assignment: { ...master, inSyncBrokerIds: [ME, 2], inSyncSetVersion: 6 } })).toEqual([
      { kind: 'updateInSyncSet', epoch: 3, inSyncBrokerIds: [ME, 2], inSyncSetVersion: 6 },
    ]);
  });

  it('steps down by refusing writes first, then truncates where its log parts from the new master\'s, then follows', () => {
    const machine = new RoleMachine(ME);
    machine.handle({ kind: 'assignment', assignment: assignment({ role: 'master', epoch: 1, masterBrokerId: ME, inSyncBrokerIds: [ME] }) });
    machine.handle({ kind: 'epochWritten', epoch: 1, startLogOffset: 0 });
    const newMaster = { brokerId: 2, endpoint: 'h:2' };
    expect(machine.handle({ kind: 'assignment', assignment: assignment({ epoch: 2 }) })).toEqual([
      { kind: 'refuseWrites', epoch: 2 },
      { kind: 'fetchMasterEpochs', epoch: 2, master: newMaster },
    ]);
    expect(machine.writable()).toBe(false);
    // This broker wrote up to 900 in epoch 1; the new master had epoch 1 only up to 600, then epoch 2.
    const actions = machine.handle({
      kind: 'masterEpochs', epoch: 2,
      masterEntries: [{ epoch: 1, startLogOffset: 0 }, { epoch: 2, startLogOffset: 600 }], masterLogEndOffset: 1_000,
      localEntries: [{ epoch: 1, startLogOffset: 0 }], localLogEndOffset: 900,
    });
    expect(actions).toEqual([{ kind: 'truncate', epoch: 2, toLogOffset: 600 }]);
    expect(machine.handle({ kind: 'truncated', epoch: 2, logOffset: 600 })).toEqual([
      { kind: 'follow', epoch: 2, master: newMaster, fromLogOffset: 600 },
      { kind: 'registerWithNameServers', role: 'slave', epoch: 2 },
    ]);
    expect(machine.phase()).toEqual({ kind: 'slave', epoch: 2, master: newMaster });
  });

  it('ignores a late assignment of an older epoch and results of steps it no longer waits for', () => {
    const machine = new RoleMachine(ME);
    machine.handle({ kind: 'assignment', assignment: assignment({ epoch: 5 }) });
    expect(machine.handle({ kind: 'assignment', assignment: assignment({ role: 'master', epoch: 4, masterBrokerId: ME }) })).toEqual([]);
    expect(machine.handle({ kind: 'epochWritten', epoch: 4, startLogOffset: 0 })).toEqual([]);
    expect(machine.handle({ kind: 'truncated', epoch: 5, logOffset: 0 })).toEqual([]);
    expect(machine.phase().kind).toBe('fetchingMasterEpochs');
  });

  it('waits in standby when the master is dead with no successor, and retries following after a failed step', () => {
    const machine = new RoleMachine(ME);
    expect(machine.handle({ kind: 'assignment', assignment: assignment({ epoch: 2, masterAlive: false }) })).toEqual([]);
    expect(machine.phase()).toEqual({ kind: 'standby', epoch: 2 });
    machine.handle({ kind: 'assignment', assignment: assignment({ epoch: 2 }) });
    expect(machine.handle({ kind: 'stepFailed', epoch: 2, reason: 'unreachable' })).toEqual([]);
    expect(machine.phase()).toEqual({ kind: 'standby', epoch: 2 });
    expect(machine.handle({ kind: 'assignment', assignment: assignment({ epoch: 2 }) })).toEqual([
      { kind: 'fetchMasterEpochs', epoch: 2, master: { brokerId: 2, endpoint: 'h:2' } },
    ]);
  });

  // Any order of assignments (epochs going up and, late, down), step results and failures: the
  // ordering rules hold on the stream of actions the machine hands out.
  it(`keeps its ordering rules over any history of assignments and step results (seed ${FC_SEED})`, () => {
    const entriesArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 8 }), { maxLength: 4 })
      .chain((epochs) => fc.tuple(fc.constant([...epochs].sort((a, b) => a - b)), fc.array(fc.nat({ max: 500 }), { minLength: epochs.length, maxLength: epochs.length })))
      .map(([epochs, gaps]) => {
        let offset = 0;
        return epochs.map((epoch, index): EpochEntry => ({ epoch, startLogOffset: (offset += gaps[index]) }));
      });
    const stepArb = fc.oneof(
      fc.record({
        kind: fc.constant('assign' as const),
        epoch: fc.integer({ min: 1, max: 8 }),
        masterBrokerId: fc.integer({ min: 1, max: 3 }),
        masterAlive: fc.boolean(),
        version: fc.integer({ min: 1, max: 4 }),
      }),
      fc.record({ kind: fc.constant('complete' as const), local: entriesArb, master: entriesArb, localEnd: fc.nat({ max: 3_000 }), masterEnd: fc.nat({ max: 3_000 }) }),
      fc.record({ kind: fc.constant('fail' as const) }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
        const machine = new RoleMachine(ME);
        const pending: RoleAction[] = [];
        const log: RoleAction[] = [];
        let lastEpoch = 0;
        let written: number | undefined;
        const feed = (event: RoleEvent) => {
          const wasWritable = machine.writable();
          const actions = machine.handle(event);
          if (wasWritable && actions.some((a) => a.kind !== 'updateInSyncSet')) expect(actions[0].kind).toBe('refuseWrites');
          for (const [index, action] of actions.entries()) {
            if (action.kind === 'serveAsMaster') {
              expect(written).toBe(action.epoch); // the epoch file has the epoch before serving
              expect(actions[index + 1]).toEqual({ kind: 'registerWithNameServers', role: 'master', epoch: action.epoch });
            }
          }
          log.push(...actions);
          pending.push(...actions.filter((a) => ['beginEpoch', 'fetchMasterEpochs', 'truncate'].includes(a.kind)));
          expect(machine.phase().epoch).toBeGreaterThanOrEqual(lastEpoch);
          lastEpoch = machine.phase().epoch;
          expect(machine.writable()).toBe(machine.phase().kind === 'master');
        };
        for (const step of steps) {
          if (step.kind === 'assign') {
            const role = step.masterBrokerId === ME && step.masterAlive ? 'master' : 'slave';
            feed({ kind: 'assignment', assignment: assignment({ role, epoch: step.epoch, masterBrokerId: step.masterBrokerId, masterEndpoint: `h:${step.masterBrokerId}`, masterAlive: step.masterAlive, inSyncBrokerIds: [step.masterBrokerId], inSyncSetVersion: step.version }) });
          } else if (step.kind === 'fail') {
            const action = pending.shift();
            if (action && action.kind !== 'beginEpoch') feed({ kind: 'stepFailed', epoch: (action as { epoch: number }).epoch, reason: 'test' });
          } else {
            const action = pending.shift();
            if (action?.kind === 'beginEpoch') {
              written = action.epoch;
              feed({ kind: 'epochWritten', epoch: action.epoch, startLogOffset: step.localEnd });
            } else if (action?.kind === 'fetchMasterEpochs') {
              const before = log.length;
              feed({ kind: 'masterEpochs', epoch: action.epoch, masterEntries: step.master, masterLogEndOffset: step.masterEnd, localEntries: step.local, localLogEndOffset: step.localEnd });
              for (const next of log.slice(before)) {
                if (next.kind === 'truncate') expect(next.toLogOffset).toBeLessThan(step.localEnd);
                if (next.kind === 'follow') expect(next.fromLogOffset).toBe(step.localEnd);
              }
            } else if (action?.kind === 'truncate') {
              const before = log.length;
              feed({ kind: 'truncated', epoch: action.epoch, logOffset: action.toLogOffset });
              for (const next of log.slice(before)) if (next.kind === 'follow') expect(next.fromLogOffset).toBe(action.toLogOffset);
            }
          }
        }
        // A master never follows, and a follower follows a live master other than itself.
        for (const action of log) if (action.kind === 'follow') expect(action.master.brokerId).not.toBe(ME);
      }),
      { numRuns: 300, seed: FC_SEED },
    );
  });
});
