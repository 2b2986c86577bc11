// The in-sync set's rules, by example and as properties over random progress histories.
import fc from 'fast-check';
import { InSyncSet } from './in-sync-set';

const BOUNDS = { lagMsMax: 1_000, lagBytesMax: 10_000 };

describe('InSyncSet', () => {
  it('lets a slave join once it has everything committed, then commits at the slowest in-sync member', () => {
    const set = new InSyncSet(BOUNDS, 0, 0);
    set.noteMasterEnd(500, 0);
    set.onProgress('s1', 200, 500, 0);
    expect(set.evaluate(500, 500, 0)).toEqual([]); // committed (500, the master alone) is ahead of it
    expect(set.committedLogOffset).toBe(500);
    set.onProgress('s1', 500, 500, 10);
    expect(set.evaluate(500, 500, 10)).toEqual([{ replicaId: 's1', change: 'joined', reason: 'caught up to the committed offset 500' }]);
    set.noteMasterEnd(900, 20);
    set.evaluate(900, 900, 20);
    expect(set.committedLogOffset).toBe(500); // waits for s1
    set.onProgress('s1', 700, 900, 30);
    set.evaluate(900, 900, 30);
    expect(set.committedLogOffset).toBe(700);
    expect(set.size()).toBe(2);
  });

  it('drops an in-sync slave that stalls past the time bound, and one too many bytes behind', () => {
    const set = new InSyncSet(BOUNDS, 0, 0);
    set.onProgress('slow', 0, 0, 0);
    set.onProgress('far', 0, 0, 0);
    set.evaluate(0, 0, 0);
    expect(set.members()).toEqual(['far', 'slow']);
    set.noteMasterEnd(100, 100);
    set.onProgress('far', 100, 100, 100);
    expect(set.evaluate(100, 100, 999)).toEqual([]); // slow lacks 100 bytes since 100 ms: within the bound
    expect(set.committedLogOffset).toBe(0);
    const changes = set.evaluate(100, 100, 1_200);
    expect(changes).toEqual([{ replicaId: 'slow', change: 'dropped', reason: expect.stringMatching(/^\d+ ms since it had everything the master had \(bound 1000 ms\)$/) }]);
    expect(set.committedLogOffset).toBe(100);
    set.noteMasterEnd(20_100, 1_300);
    expect(set.evaluate(20_100, 20_100, 1_300)).toEqual([{ replicaId: 'far', change: 'dropped', reason: '20000 bytes behind (bound 10000)' }]);
    expect(set.committedLogOffset).toBe(20_100);
  });

  it('keeps an idle slave that has everything, however long nothing is written', () => {
    const set = new InSyncSet(BOUNDS, 0, 0);
    set.onProgress('idle', 300, 300, 0);
    set.evaluate(300, 300, 0);
    expect(set.evaluate(300, 300, 60_000)).toEqual([]);
    expect(set.members()).toEqual(['idle']);
  });

  it('never lets a slave without this epoch\'s data join', () => {
    const set = new InSyncSet(BOUNDS, 1_000, 0);
    set.onProgress('old', 800, 800, 0);
    expect(set.evaluate(800, 800, 0)).toEqual([]);
  });

  it('keeps its invariants over random histories: committed only grows, never passes the master or an in-sync member, and no member lags past a bound after an evaluation', () => {
    const step = fc.record({ slave: fc.constantFrom('a', 'b', 'c'), advance: fc.nat(3_000), ackFraction: fc.double({ min: 0, max: 1, noNaN: true }), elapsedMs: fc.nat(700), forget: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const set = new InSyncSet(BOUNDS, 0, 0);
        let end = 0;
        let nowMs = 0;
        let committed = 0;
        const acked = new Map<string, number>();
        for (const s of steps) {
          nowMs += s.elapsedMs;
          end += s.advance;
          set.noteMasterEnd(end, nowMs);
          if (s.forget && s.elapsedMs % 7 === 0) {
            set.forget(s.slave);
            acked.delete(s.slave);
          } else {
            const previous = acked.get(s.slave) ?? 0;
            const next = Math.max(previous, Math.floor(previous + (end - previous) * s.ackFraction));
            acked.set(s.slave, next);
            set.onProgress(s.slave, next, end, nowMs);
          }
          set.evaluate(end, end, nowMs);
          expect(set.committedLogOffset).toBeGreaterThanOrEqual(committed);
          committed = set.committedLogOffset;
          expect(committed).toBeLessThanOrEqual(end);
          for (const progress of set.progress(end, nowMs).filter((p) => p.inSync)) {
            expect(progress.ackedLogOffset).toBeGreaterThanOrEqual(committed);
            expect(progress.lagBytes).toBeLessThanOrEqual(BOUNDS.lagBytesMax);
            expect(progress.lagMs).toBeLessThanOrEqual(BOUNDS.lagMsMax);
          }
        }
      }),
    );
  });

  describe('under a controller', () => {
    it('waits for a joining slave before the controller commits it, and proposes the set it wants', () => {
      const set = new InSyncSet(BOUNDS, 0, 0);
      set.adoptConfirmed([], 1, 0);
      expect(set.proposalDue()).toBeUndefined();
      set.noteMasterEnd(500, 0);
      set.onProgress('s1', 500, 500, 0);
      set.evaluate(500, 500, 0);
      expect(set.proposalDue()).toEqual(['s1']);
      expect(set.size()).toBe(1); // the committed set: the master alone
      expect(set.beginProposal(['s1'])).toBe(1);
      set.noteMasterEnd(900, 10);
      set.evaluate(900, 900, 10);
      expect(set.committedLogOffset).toBe(500); // s1 is waited for already
      set.proposalAnswered(['s1'], 2, 20);
      expect(set.size()).toBe(2);
      expect(set.proposalDue()).toBeUndefined();
    });

    it('keeps waiting for a slave it dropped until the controller has dropped it too', () => {
      const set = new InSyncSet(BOUNDS, 0, 0);
      set.onProgress('s1', 0, 0, 0);
      set.adoptConfirmed(['s1'], 4, 0);
      set.evaluate(0, 0, 0);
      expect(set.proposalDue()).toBeUndefined();
      set.noteMasterEnd(300, 10);
      set.onProgress('s1', 100, 300, 10);
      expect(set.evaluate(300, 300, 2_000)).toEqual([{ replicaId: 's1', change: 'dropped', reason: expect.any(String) }]);
      expect(set.committedLogOffset).toBe(100); // still committed by the controller: waited for
      expect(set.proposalDue()).toEqual([]);
      set.beginProposal([]);
      set.evaluate(300, 300, 2_010);
      expect(set.committedLogOffset).toBe(100);
      set.proposalAnswered([], 5, 2_020);
      set.evaluate(300, 300, 2_030);
      expect(set.committedLogOffset).toBe(300);
    });

    it('waits for a slave named in a proposal whose answer was lost, even after its stream closed, until an answer settles it', () => {
      const set = new InSyncSet(BOUNDS, 0, 0);
      set.adoptConfirmed([], 1, 0);
      set.noteMasterEnd(500, 0);
      set.onProgress('s1', 500, 500, 0);
      set.evaluate(500, 500, 0);
      set.beginProposal(['s1']); // the answer never comes (a timeout): the controller may have committed it
      set.forget('s1');
      set.noteMasterEnd(900, 10);
      set.evaluate(900, 900, 10);
      expect(set.committedLogOffset).toBe(500);
      expect(set.proposalDue()).toEqual([]); // asked again: the committed set as it stands settles it
      set.beginProposal([]);
      set.proposalAnswered([], 1, 20); // still version 1: the lost proposal was never committed
      set.evaluate(900, 900, 30);
      expect(set.committedLogOffset).toBe(900);
      expect(set.progress(900, 30)).toEqual([]);
    });

    it('waits at the committed offset for a committed member it has not heard from, and asks to drop it', () => {
      const set = new InSyncSet(BOUNDS, 0, 200);
      set.adoptConfirmed(['ghost'], 7, 0);
      set.evaluate(600, 600, 0);
      expect(set.committedLogOffset).toBe(200);
      expect(set.proposalDue()).toEqual([]);
    });

    it('never commits past a member of the controller\'s set, whatever the controller does with proposals', () => {
      const step = fc.record({
        slave: fc.constantFrom('a', 'b', 'c'),
        advance: fc.oneof(fc.constant(0), fc.nat(3_000)),
        // Often all of it, so slaves join, and steps shorter than the lag bound, so they stay a while.
        ackFraction: fc.oneof(fc.constant(1), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
        elapsedMs: fc.nat(150),
        event: fc.constantFrom('progress', 'progress', 'progress', 'progress', 'forget', 'propose', 'answer', 'lose', 'refuse', 'heartbeat'),
      });
      fc.assert(
        fc.property(fc.array(step, { minLength: 30, maxLength: 100 }), (steps) => {
          const set = new InSyncSet(BOUNDS, 0, 0);
          // The controller: its committed set and version; proposals in flight (sent, not yet applied).
          let controller = { ids: [] as string[], version: 1 };
          set.adoptConfirmed(controller.ids, controller.version, 0);
          let inFlight: { ids: string[]; version: number } | undefined;
          let end = 0;
          let nowMs = 0;
          const acked = new Map<string, number>();
          for (const s of steps) {
            nowMs += s.elapsedMs;
            end += s.advance;
            set.noteMasterEnd(end, nowMs);
            if (s.event === 'progress') {
              const previous = acked.get(s.slave) ?? 0;
              const next = Math.max(previous, Math.floor(previous + (end - previous) * s.ackFraction));
              acked.set(s.slave, next);
              set.onProgress(s.slave, next, end, nowMs);
            } else if (s.event === 'forget') {
              set.forget(s.slave);
            } else if (s.event === 'propose' && !inFlight) {
              const wanted = set.proposalDue();
              if (wanted) inFlight = { ids: [...wanted], version: set.beginProposal(wanted) };
            } else if (inFlight && (s.event === 'answer' || s.event === 'lose' || s.event === 'refuse')) {
              const applies = s.event !== 'refuse' && inFlight.version === controller.version;
              if (applies && inFlight.ids.join() !== controller.ids.join()) controller = { ids: [...inFlight.ids].sort(), version: controller.version + 1 };
              if (s.event === 'answer') set.proposalAnswered(controller.ids, controller.version, nowMs);
              inFlight = undefined;
            } else if (s.event === 'heartbeat') {
              set.adoptConfirmed(controller.ids, controller.version, nowMs);
            }
            set.evaluate(end, end, nowMs);
            for (const id of controller.ids) {
              // A member of the committed set has everything committed (it could be elected next).
              expect(acked.get(id) ?? 0).toBeGreaterThanOrEqual(set.committedLogOffset);
            }
          }
        }),
        { numRuns: 1_000 },
      );
    });
  });
});
