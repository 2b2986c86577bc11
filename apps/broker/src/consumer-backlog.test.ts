import type { GroupTopicTotals, ProgressKey } from '@rmq/messaging';
import { BACKLOG_TIME_READS_MAX, ConsumerBacklog, type BacklogSources } from './consumer-backlog';

/** A store of queues with `ends[q]` messages each, message n of a queue stored at 1000 + n ms; reads are counted. */
function fakeStore(topic: string, ends: number[]): { store: BacklogSources['store']; reads: () => number } {
  let reads = 0;
  const store = {
    queueList: () => ends.map((count, queueId) => ({ topic, queueId, count })),
    read: async (_topic: string, _queueId: number, queueOffset: number) => {
      reads++;
      return { records: [{ queueOffset, storeTimestampMs: 1_000 + queueOffset }], nextQueueOffset: queueOffset + 1 };
    },
  } as unknown as BacklogSources['store'];
  return { store, reads: () => reads };
}

/** One group's progress in some queues of topic T: [committed, next, inflight] per queue id. */
function progressOf(group: string, queues: Record<number, [number, number, number]>): { totals: GroupTopicTotals; peek: BacklogSources['peek'] } {
  const entries = Object.entries(queues).map(([queueId, [committed, next, inflight]]) => ({ queueId: Number(queueId), committed, next, inflight }));
  const totals: GroupTopicTotals = {
    group,
    topic: 'T',
    queueIds: new Set(entries.map((entry) => entry.queueId)),
    committedSum: entries.reduce((sum, entry) => sum + entry.committed, 0),
    nextSum: entries.reduce((sum, entry) => sum + entry.next, 0),
    inflight: entries.reduce((sum, entry) => sum + entry.inflight, 0),
  };
  const peek = (key: ProgressKey) => {
    const entry = entries.find((candidate) => candidate.queueId === key.q);
    return entry && { committedOffset: entry.committed, nextOffset: entry.next };
  };
  return { totals, peek };
}

describe('ConsumerBacklog', () => {
  it('sums lag and ready over the queues a group has progress in, whether it covers the topic or not', () => {
    const { store } = fakeStore('T', [10, 20, 30]);
    const covering = progressOf('all', { 0: [5, 7, 2], 1: [20, 20, 0], 2: [0, 10, 10] });
    const partial = progressOf('some', { 1: [15, 18, 3] });
    const backlog = new ConsumerBacklog({ totals: () => [covering.totals, partial.totals], peek: () => undefined, store, nowMs: () => 0 });
    for (let scrape = 0; scrape < 2; scrape++) {
      // covering: ends 60, committed 25, next 37; partial: queue 1 only, end 20.
      expect(backlog.counts()).toEqual([
        { topic: 'T', group: 'all', lag: 35, ready: 23, inflight: 12 },
        { topic: 'T', group: 'some', lag: 5, ready: 2, inflight: 3 },
      ]);
    }
  });

  it('gives the latencies from the oldest unacknowledged and oldest ready message, reading each (queue, offset) once', async () => {
    const { store, reads } = fakeStore('T', [10, 20, 30]);
    const behind = progressOf('behind', { 0: [5, 7, 2], 1: [20, 20, 0], 2: [3, 30, 27] });
    const done = progressOf('done', { 0: [10, 10, 0] });
    const backlog = new ConsumerBacklog({ totals: () => [behind.totals, done.totals], peek: (key) => (key.g === 'behind' ? behind.peek(key) : done.peek(key)), store, nowMs: () => 5_000 });
    const expected = [
      // oldest unacknowledged: queue 2 offset 3 (stored at 1003); oldest ready: queue 0 offset 7 (1007); queue 2 has none ready.
      { topic: 'T', group: 'behind', lagMs: 5_000 - 1_003, queueingMs: 5_000 - 1_007 },
      { topic: 'T', group: 'done', lagMs: 0, queueingMs: 0 },
    ];
    expect(await backlog.latencies()).toEqual(expected);
    expect(reads()).toBe(3); // (0, 5), (0, 7), (2, 3); queue 1 has no backlog
    expect(await backlog.latencies()).toEqual(expected);
    expect(reads()).toBe(3);
  });

  it('leaves out a group whose latency needs more reads than a scrape allows, rather than report a wrong one', async () => {
    const queueCount = BACKLOG_TIME_READS_MAX + 1;
    const { store } = fakeStore('T', Array.from({ length: queueCount }, () => 2));
    const wide = progressOf('wide', Object.fromEntries(Array.from({ length: queueCount }, (_, q) => [q, [0, 2, 2] as [number, number, number]])));
    const backlog = new ConsumerBacklog({ totals: () => [wide.totals], peek: wide.peek, store, nowMs: () => 5_000 });
    expect(await backlog.latencies()).toEqual([]);
    // The reads made are cached: the next scrape finishes the job.
    expect(await backlog.latencies()).toEqual([{ topic: 'T', group: 'wide', lagMs: 4_000, queueingMs: 0 }]);
  });
});
