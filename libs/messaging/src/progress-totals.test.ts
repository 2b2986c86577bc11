import fc from 'fast-check';
import type { Clock } from '@rmq/base';
import type { MessageStore } from '@rmq/store';
import { ConsumerProgress, type ProgressChange, type ProgressKey } from './consumer-progress';
import type { StateJournal } from './state/state-journal';
import { PendingBodies, readChangeBody } from './state/change-body';
import { decodeProgressChange } from './progress-codec';

// The journal and store seen by ConsumerProgress, reduced to what these tests need: changes are
// kept in change record bodies (to replay them, read back), every queue holds 1,000 messages.
function progressUnderTest(): { progress: ConsumerProgress; journaled: () => ProgressChange[] } {
  const pending = new PendingBodies(4096); // small bodies: changes span several, as they may in the log
  const journal = {
    register: () => undefined,
    note: (section: string, change: ProgressChange) => pending.json(section, change),
    record: async (section: string, change: ProgressChange) => pending.json(section, change),
    beginBinary: (section: { binaryType: number }, bytesMax: number) => pending.begin(section.binaryType, bytesMax),
    endBinary: () => (pending.end() ? Promise.resolve() : undefined),
    endBinaryNoted: () => pending.end(),
    isWritable: true,
    requireWritable: () => undefined,
  } as unknown as StateJournal;
  const store = { queueRange: () => ({ minQueueOffset: 0, maxQueueOffset: 1_000 }) } as unknown as MessageStore;
  const clock: Clock = { nowMs: () => 0 } as Clock;
  const journaled = () => {
    const changes: ProgressChange[] = [];
    for (const body of pending.take()) {
      readChangeBody(body, { json: ([, change]) => changes.push(change as ProgressChange), binary: (_type, reader) => changes.push(decodeProgressChange(reader)) });
    }
    return changes;
  };
  return { progress: new ConsumerProgress(journal, store, clock), journaled };
}

/** The sums the running totals must equal, by walking every state. */
function walked(progress: ConsumerProgress): Record<string, { committed: number; next: number; inflight: number; queues: number }> {
  const sums: Record<string, { committed: number; next: number; inflight: number; queues: number }> = {};
  for (const { key, state } of progress.groupStates()) {
    const entry = (sums[`${key.g}/${key.t}`] ??= { committed: 0, next: 0, inflight: 0, queues: 0 });
    entry.committed += state.committedOffset;
    entry.next += state.nextOffset;
    entry.inflight += state.inflightCount;
    entry.queues++;
  }
  return sums;
}

function kept(progress: ConsumerProgress): ReturnType<typeof walked> {
  const sums: ReturnType<typeof walked> = {};
  for (const totals of progress.totals.list()) {
    sums[`${totals.group}/${totals.topic}`] = { committed: totals.committedSum, next: totals.nextSum, inflight: totals.inflight, queues: totals.queueIds.size };
  }
  return sums;
}

type Step = { kind: 'deliver' | 'ack' | 'skip' | 'redeliver'; group: number; topic: number; queue: number; count: number; broadcast: boolean };

const step = fc.record({
  kind: fc.constantFrom<Step['kind']>('deliver', 'ack', 'skip', 'redeliver'),
  group: fc.integer({ min: 0, max: 2 }),
  topic: fc.integer({ min: 0, max: 1 }),
  queue: fc.integer({ min: 0, max: 3 }),
  count: fc.integer({ min: 1, max: 5 }),
  broadcast: fc.boolean(),
});

function run(progress: ConsumerProgress, steps: Step[]): void {
  let deliveries = 0;
  for (const { kind, group, topic, queue, count, broadcast } of steps) {
    const key: ProgressKey = broadcast ? { g: `g${group}`, t: `T${topic}`, q: queue, m: 'member-1' } : { g: `g${group}`, t: `T${topic}`, q: queue };
    const state = progress.state(key, false);
    for (let i = 0; i < count; i++) {
      if (kind === 'deliver') progress.admit(key, state, state.nextOffset, undefined, { deliveryId: `d${deliveries++}`, visibleAtMs: 10, attempt: 1 });
      if (kind === 'skip') progress.skipTo(key, state, state.nextOffset + 3);
      const oldest = state.due(Number.MAX_SAFE_INTEGER, 1)[0];
      if (kind === 'ack' && oldest) progress.complete(key, state, oldest.queueOffset, oldest.entry.deliveryId);
      if (kind === 'redeliver' && oldest) progress.deliver(key, state, oldest.queueOffset, { deliveryId: `d${deliveries++}`, visibleAtMs: 20, attempt: 2 });
    }
  }
}

describe('ProgressTotals', () => {
  it('equals a walk over every group state after any sequence of deliveries, acks, skips and redeliveries', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const { progress } = progressUnderTest();
        run(progress, steps);
        expect(kept(progress)).toEqual(walked(progress));
      }),
      { numRuns: 200 },
    );
  });

  it('is rebuilt by a replay of the journal and by a replay that starts from a dump', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const { progress, journaled } = progressUnderTest();
        run(progress, steps);
        const expected = walked(progress);
        const dump = progress.dump();

        progress.reset();
        expect(kept(progress)).toEqual({});
        for (const change of journaled()) progress.apply(change);
        expect(kept(progress)).toEqual(expected);

        progress.reset();
        for (const change of dump) progress.apply(change);
        expect(kept(progress)).toEqual(expected);
        // A snapshot replayed over live states replaces them: counted once.
        for (const change of dump) progress.apply(change);
        expect(kept(progress)).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});
