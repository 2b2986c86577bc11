import { isRmqError } from '@rmq/base';
import fc from 'fast-check';
import { decideElection, recordEpochStart, registerBroker, type ElectionPolicy, type LivenessView } from './election';
import { applyInSyncChange, proposeInSyncSet } from './in-sync-set';
import type { BrokerLiveness, BrokerReport, ReplicaGroup } from './replica-group';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const fcOptions = { numRuns: 300, seed: FC_SEED };
const TIMEOUT_MS = 1_000;
const policy: ElectionPolicy = { brokerTimeoutMs: TIMEOUT_MS, uncleanElectionAllowed: false };

function report(brokerId: number, overrides: Partial<BrokerReport> = {}): BrokerReport {
  return {
    clusterName: 'c1',
    brokerName: 'g',
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

/** A group of brokers 1..n, master `masterId`, some in sync, and what the leader heard from each. */
const scenarioArb = fc
  .record({
    size: fc.integer({ min: 1, max: 5 }),
    epoch: fc.integer({ min: 1, max: 50 }),
    masterSeed: fc.nat(),
    inSyncMask: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    heard: fc.array(
      fc.record({
        silentMs: fc.integer({ min: 0, max: 3 * TIMEOUT_MS }),
        restarted: fc.boolean(),
        epoch: fc.integer({ min: 0, max: 60 }),
        logEndOffset: fc.nat({ max: 10_000 }),
        heard: fc.boolean(),
      }),
      { minLength: 5, maxLength: 5 },
    ),
    unclean: fc.boolean(),
  })
  .map((raw) => {
    const ids = Array.from({ length: raw.size }, (_, index) => index + 1);
    const masterBrokerId = ids[raw.masterSeed % ids.length];
    const inSync = ids.filter((id, index) => id === masterBrokerId || raw.inSyncMask[index]);
    const group: ReplicaGroup = {
      clusterName: 'c1',
      brokerName: 'g',
      epoch: raw.epoch,
      masterBrokerId,
      masterIncarnation: `inc-${masterBrokerId}`,
      inSyncBrokerIds: inSync,
      inSyncSetVersion: 1,
      members: ids.map((brokerId) => ({ brokerId, endpoint: `127.0.0.1:${10_000 + brokerId}` })),
    };
    const nowMs = 10 * TIMEOUT_MS;
    const liveness = new Map<number, BrokerLiveness>();
    ids.forEach((id, index) => {
      const heard = raw.heard[index];
      if (!heard.heard) return;
      liveness.set(id, {
        report: report(id, { incarnation: heard.restarted ? `inc-${id}-again` : `inc-${id}`, epoch: Math.min(heard.epoch, raw.epoch), logEndOffset: heard.logEndOffset }),
        lastHeartbeatMs: nowMs - heard.silentMs,
      });
    });
    return { group, liveness: liveness as LivenessView, nowMs, policy: { ...policy, uncleanElectionAllowed: raw.unclean } };
  });

describe('decideElection', () => {
  it(`elects only a live broker, from the in-sync set unless unclean elections are allowed, in a newer epoch (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(scenarioArb, ({ group, liveness, nowMs, policy }) => {
        const decision = decideElection(group, liveness, nowMs, policy);
        const master = liveness.get(group.masterBrokerId);
        const masterFine = master !== undefined && nowMs - master.lastHeartbeatMs <= TIMEOUT_MS && master.report.incarnation === group.masterIncarnation;
        if (masterFine) {
          expect(decision.kind).toBe('none');
          return;
        }
        const alive = [...liveness.values()].filter((entry) => nowMs - entry.lastHeartbeatMs <= TIMEOUT_MS);
        const aliveInSync = alive.filter((entry) => group.inSyncBrokerIds.includes(entry.report.brokerId));
        if (decision.kind === 'noCandidate') {
          expect(aliveInSync).toHaveLength(0);
          if (policy.uncleanElectionAllowed) expect(alive).toHaveLength(0);
          return;
        }
        expect(decision.kind).toBe('elected');
        if (decision.kind !== 'elected') return;
        const chosen = liveness.get(decision.group.masterBrokerId);
        expect(chosen && nowMs - chosen.lastHeartbeatMs <= TIMEOUT_MS).toBe(true);
        if (aliveInSync.length > 0 || !policy.uncleanElectionAllowed) expect(group.inSyncBrokerIds).toContain(decision.group.masterBrokerId);
        expect(decision.unclean).toBe(aliveInSync.length === 0);
        // The longest log among the eligible.
        const eligible = aliveInSync.length > 0 ? aliveInSync : alive;
        expect(chosen!.report.logEndOffset).toBe(Math.max(...eligible.map((entry) => entry.report.logEndOffset)));
        // A newer epoch than the group's and than any live broker has seen; the new master alone in sync.
        expect(decision.group.epoch).toBeGreaterThan(group.epoch);
        for (const entry of alive) expect(decision.group.epoch).toBeGreaterThan(entry.report.epoch);
        expect(decision.group.inSyncBrokerIds).toEqual([decision.group.masterBrokerId]);
        expect(decision.group.masterIncarnation).toBe(chosen!.report.incarnation);
        expect(decision.group.inSyncSetVersion).toBeGreaterThan(group.inSyncSetVersion);
      }),
      fcOptions,
    );
  });

  // A whole controller life: heartbeats (with restarts), time passing and scans, fed to the rules
  // in random order; every epoch is issued to exactly one broker process, and epochs only grow.
  it(`never issues an epoch twice over any history of heartbeats, restarts and scans (seed ${FC_SEED})`, () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('beat' as const), brokerId: fc.integer({ min: 1, max: 3 }), logEndOffset: fc.nat({ max: 1_000 }) }),
      fc.record({ kind: fc.constant('restart' as const), brokerId: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 2 * TIMEOUT_MS }) }),
      fc.record({ kind: fc.constant('grow' as const), brokerId: fc.integer({ min: 1, max: 3 }) }),
    );
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 60 }), fc.boolean(), (steps, unclean) => {
        let group: ReplicaGroup | undefined;
        let nowMs = 0;
        const incarnations = new Map<number, number>();
        const seenEpochs = new Map<number, number>();
        const liveness = new Map<number, BrokerLiveness>();
        const issued = new Map<number, string>();
        const record = (next: ReplicaGroup) => {
          if (group) expect(next.epoch).toBeGreaterThanOrEqual(group.epoch);
          const owner = `${next.masterBrokerId}/${next.masterIncarnation}`;
          const before = issued.get(next.epoch);
          if (before !== undefined) expect(owner).toBe(before);
          issued.set(next.epoch, owner);
          group = next;
        };
        for (const step of steps) {
          if (step.kind === 'wait') nowMs += step.ms;
          if (step.kind === 'restart') incarnations.set(step.brokerId, (incarnations.get(step.brokerId) ?? 0) + 1);
          if (step.kind === 'beat') {
            const beat = report(step.brokerId, {
              incarnation: `inc-${step.brokerId}-${incarnations.get(step.brokerId) ?? 0}`,
              epoch: seenEpochs.get(step.brokerId) ?? 0,
              logEndOffset: step.logEndOffset,
            });
            liveness.set(step.brokerId, { report: beat, lastHeartbeatMs: nowMs });
            record(recordEpochStart(registerBroker(group, beat), beat));
          }
          if (step.kind === 'grow' && group && group.epochStartLogOffset !== undefined && group.members.some((m) => m.brokerId === step.brokerId)) {
            try {
              record(applyInSyncChange(group, {
                masterBrokerId: group.masterBrokerId, epoch: group.epoch, inSyncSetVersion: group.inSyncSetVersion,
                inSyncBrokerIds: [...group.inSyncBrokerIds, step.brokerId], confirmedLogOffset: 0,
                slaves: [{ brokerId: step.brokerId, ackedLogOffset: 0, behindMs: 0 }],
              }, (id) => liveness.has(id) && nowMs - liveness.get(id)!.lastHeartbeatMs <= TIMEOUT_MS));
            } catch (error) {
              if (!isRmqError(error, 'FENCED')) throw error;
            }
          }
          if (group) {
            const decision = decideElection(group, liveness, nowMs, { brokerTimeoutMs: TIMEOUT_MS, uncleanElectionAllowed: unclean });
            if (decision.kind === 'elected') record(decision.group);
            // The elected broker learns its epoch (it writes it to its epoch file).
            seenEpochs.set(group.masterBrokerId, group.epoch);
            const master = liveness.get(group.masterBrokerId);
            if (master) {
              const asMaster = { ...master.report, role: 'master' as const, epoch: group.epoch, incarnation: group.masterIncarnation };
              if (master.report.incarnation === group.masterIncarnation) record(recordEpochStart(group, asMaster));
            }
          }
        }
      }),
      fcOptions,
    );
  });
});

describe('registerBroker', () => {
  it('starts a group above any epoch its first broker has seen, and refuses a broker of another cluster', () => {
    const created = registerBroker(undefined, report(3, { epoch: 7 }));
    expect(created).toMatchObject({ epoch: 8, masterBrokerId: 3, inSyncBrokerIds: [3], inSyncSetVersion: 1 });
    expect(registerBroker(created, report(3, { epoch: 7 }))).toBe(created);
    expect(() => registerBroker(created, report(4, { clusterName: 'other' }))).toThrow('belongs to cluster c1');
  });
});

describe('in-sync set rules', () => {
  const bounds = { lagMsMax: 1_000, lagBytesMax: 1_000 };
  const progressArb = fc.record({ brokerId: fc.integer({ min: 2, max: 5 }), ackedLogOffset: fc.nat({ max: 5_000 }), behindMs: fc.nat({ max: 3_000 }) });

  it(`proposes a set that keeps the master, drops only laggards and adds only slaves caught up in this epoch (seed ${FC_SEED})`, () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(progressArb, { selector: (p) => p.brokerId, maxLength: 4 }),
        fc.subarray([2, 3, 4, 5]),
        fc.nat({ max: 5_000 }),
        fc.nat({ max: 5_000 }),
        (slaves, inSyncSlaves, confirmed, epochStart) => {
          const logEnd = 5_000;
          const current = [1, ...inSyncSlaves];
          const proposed = proposeInSyncSet(
            { masterBrokerId: 1, inSyncBrokerIds: current, slaves, logEndOffset: logEnd, confirmedLogOffset: confirmed, epochStartLogOffset: epochStart },
            bounds,
          );
          expect(proposed).toContain(1);
          expect([...proposed].sort((a, b) => a - b)).toEqual(proposed);
          for (const progress of slaves) {
            const lagging = progress.behindMs > bounds.lagMsMax || logEnd - progress.ackedLogOffset > bounds.lagBytesMax;
            const caughtUp = progress.ackedLogOffset >= confirmed && progress.ackedLogOffset >= epochStart;
            if (current.includes(progress.brokerId)) expect(proposed.includes(progress.brokerId)).toBe(!lagging);
            else expect(proposed.includes(progress.brokerId)).toBe(caughtUp);
          }
          for (const id of inSyncSlaves) if (!slaves.some((p) => p.brokerId === id)) expect(proposed).toContain(id);
        },
      ),
      fcOptions,
    );
  });

  it(`commits a growth only for live members caught up to the committed offset in this epoch; any shrink keeping the master (seed ${FC_SEED})`, () => {
    const group: ReplicaGroup = {
      clusterName: 'c1', brokerName: 'g', epoch: 3, masterBrokerId: 1, masterIncarnation: 'i1', inSyncBrokerIds: [1, 2], inSyncSetVersion: 4,
      epochStartLogOffset: 1_000, members: [1, 2, 3, 4].map((brokerId) => ({ brokerId, endpoint: `h:${brokerId}` })),
    };
    fc.assert(
      fc.property(fc.subarray([1, 2, 3, 4]), fc.array(progressArb, { maxLength: 4 }), fc.nat({ max: 3_000 }), fc.subarray([2, 3, 4]), (asked, slaves, confirmed, alive) => {
        let outcome: ReplicaGroup | string;
        try {
          outcome = applyInSyncChange(group, { masterBrokerId: 1, epoch: 3, inSyncSetVersion: 4, inSyncBrokerIds: asked, slaves, confirmedLogOffset: confirmed }, (id) => alive.includes(id));
        } catch (error) {
          outcome = (error as { code: string }).code;
        }
        if (!asked.includes(1)) return expect(outcome).toBe('BAD_REQUEST');
        if (new Set(slaves.map((p) => p.brokerId)).size !== slaves.length) return expect(outcome).toBe('BAD_REQUEST');
        const added = asked.filter((id) => !group.inSyncBrokerIds.includes(id));
        const ok = added.every((id) => {
          const progress = slaves.find((p) => p.brokerId === id);
          return alive.includes(id) && progress !== undefined && progress.ackedLogOffset >= confirmed && progress.ackedLogOffset >= 1_000;
        });
        if (!ok) return expect(outcome).toBe('FENCED');
        expect(typeof outcome).toBe('object');
        expect((outcome as ReplicaGroup).inSyncBrokerIds).toEqual([...asked].sort((a, b) => a - b));
      }),
      fcOptions,
    );
  });

  it('refuses a change from a broker that is not the master of the current epoch, or from an old version', () => {
    const group = registerBroker(undefined, report(1));
    const change = { masterBrokerId: 1, epoch: 1, inSyncSetVersion: 1, inSyncBrokerIds: [1], slaves: [], confirmedLogOffset: 0 };
    expect(applyInSyncChange(group, change, () => true)).toBe(group);
    expect(() => applyInSyncChange(group, { ...change, epoch: 0 }, () => true)).toThrow('not the master');
    expect(() => applyInSyncChange(group, { ...change, masterBrokerId: 2 }, () => true)).toThrow('not the master');
    expect(() => applyInSyncChange(group, { ...change, inSyncSetVersion: 0 }, () => true)).toThrow('not the current one');
  });
});
