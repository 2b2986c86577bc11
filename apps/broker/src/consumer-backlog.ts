// What each consumer group has left per topic, for the gauges: lag (stored, not acknowledged),
// ready (stored, never handed out), in flight, and RocketMQ's two latencies: queueing (now minus
// the store time of the oldest ready message) and lag (now minus that of the oldest message not
// acknowledged).
//
// Cost per scrape: the counts come from the running sums messaging keeps per (group, topic)
// (ProgressTotals) and one pass over the store's queues (their ends, summed per topic): O(pairs +
// topic queues), not O(groups x queues). A pair whose queues do not cover every queue of its topic
// sums the ends of its own queues. The latencies read the store time of one message per queue
// that has a backlog, through a cache keyed by queue offset (a queue whose consumer has not moved
// costs nothing), at most BACKLOG_TIME_READS_MAX reads per scrape.
import type { GroupTopicTotals, ProgressKey } from '@rmq/messaging';
import type { MessageStore } from '@rmq/store';

export interface Backlog {
  topic: string;
  group: string;
  lag: number;
  ready: number;
  inflight: number;
}

export interface BacklogLatency {
  topic: string;
  group: string;
  /** now - store time of the oldest ready message; 0 with none ready. */
  queueingMs: number;
  /** now - store time of the oldest message not acknowledged; 0 with none. */
  lagMs: number;
}

export interface BacklogSources {
  totals: () => Iterable<GroupTopicTotals>;
  /** A group's progress in one queue (committed: first offset not done; next: first never handed out). */
  peek: (key: ProgressKey) => { committedOffset: number; nextOffset: number } | undefined;
  store: Pick<MessageStore, 'queueList' | 'read'>;
  nowMs: () => number;
}

/** Store times read per scrape at most (one small read each); pairs beyond it get no latency series that scrape. */
export const BACKLOG_TIME_READS_MAX = 2_000;
/** Cached store times (queue, offset) kept at most; the cache starts over beyond it. */
const STORE_TIME_CACHE_MAX = 50_000;

interface TopicEnds {
  ends: Map<number, number>;
  endSum: number;
  /** Changes when the topic's set of queues does (queues are only ever added). */
  signature: string;
}

export class ConsumerBacklog {
  /** The topic signature at which a pair was seen to have progress in every queue of its topic. */
  private readonly covering = new WeakMap<GroupTopicTotals, string>();
  private readonly storeTimes = new Map<string, number>();

  constructor(private readonly sources: BacklogSources) {}

  counts(): Backlog[] {
    const topics = this.topicEnds();
    const backlog: Backlog[] = [];
    for (const totals of this.sources.totals()) {
      const endSum = this.endSumOf(totals, topics.get(totals.topic));
      backlog.push({
        topic: totals.topic,
        group: totals.group,
        lag: Math.max(0, endSum - totals.committedSum),
        ready: Math.max(0, endSum - totals.nextSum),
        inflight: totals.inflight,
      });
    }
    return backlog;
  }

  /** The latencies of every pair, reading only the queues of pairs with a backlog. */
  async latencies(): Promise<BacklogLatency[]> {
    const topics = this.topicEnds();
    const nowMs = this.sources.nowMs();
    const budget = { reads: BACKLOG_TIME_READS_MAX };
    const latencies: BacklogLatency[] = [];
    for (const totals of this.sources.totals()) {
      const view = topics.get(totals.topic);
      const endSum = this.endSumOf(totals, view);
      if (!view || endSum - totals.committedSum <= 0) {
        latencies.push({ topic: totals.topic, group: totals.group, queueingMs: 0, lagMs: 0 });
        continue;
      }
      let oldestReady = Infinity;
      let oldestUnacked = Infinity;
      let complete = true;
      for (const queueId of totals.queueIds) {
        const state = this.sources.peek({ g: totals.group, t: totals.topic, q: queueId });
        const end = view.ends.get(queueId) ?? 0;
        if (!state || state.committedOffset >= end) continue;
        const unacked = await this.storeTimeAt(totals.topic, queueId, state.committedOffset, budget);
        const ready = state.nextOffset < end ? await this.storeTimeAt(totals.topic, queueId, state.nextOffset, budget) : Infinity;
        if (unacked === null || ready === null) complete = false;
        else {
          oldestUnacked = Math.min(oldestUnacked, unacked);
          oldestReady = Math.min(oldestReady, ready);
        }
      }
      if (!complete) continue; // out of reads this scrape: no series rather than a wrong one
      latencies.push({
        topic: totals.topic,
        group: totals.group,
        queueingMs: oldestReady === Infinity ? 0 : Math.max(0, nowMs - oldestReady),
        lagMs: oldestUnacked === Infinity ? 0 : Math.max(0, nowMs - oldestUnacked),
      });
    }
    return latencies;
  }

  private topicEnds(): Map<string, TopicEnds> {
    const topics = new Map<string, TopicEnds>();
    for (const { topic, queueId, count } of this.sources.store.queueList()) {
      let view = topics.get(topic);
      if (!view) topics.set(topic, (view = { ends: new Map(), endSum: 0, signature: '' }));
      view.ends.set(queueId, count);
      view.endSum += count;
    }
    for (const view of topics.values()) {
      let idSum = 0;
      for (const queueId of view.ends.keys()) idSum += queueId;
      view.signature = `${view.ends.size}:${idSum}`;
    }
    return topics;
  }

  /** Sum of the queue ends over the pair's queues (a queue the store does not have yet ends at 0). */
  private endSumOf(totals: GroupTopicTotals, view: TopicEnds | undefined): number {
    if (!view) return 0;
    if (this.covering.get(totals) === view.signature) return view.endSum;
    if (totals.queueIds.size >= view.ends.size && [...view.ends.keys()].every((queueId) => totals.queueIds.has(queueId))) {
      // The pair's queues only grow: it covers the topic until the topic's queues change.
      this.covering.set(totals, view.signature);
      return view.endSum;
    }
    let endSum = 0;
    for (const queueId of totals.queueIds) endSum += view.ends.get(queueId) ?? 0;
    return endSum;
  }

  /** The store time of the message at (or, past retention, first after) `queueOffset`; null when out of reads. */
  private async storeTimeAt(topic: string, queueId: number, queueOffset: number, budget: { reads: number }): Promise<number | null> {
    const key = `${topic}\u0000${queueId}\u0000${queueOffset}`;
    const cached = this.storeTimes.get(key);
    if (cached !== undefined) return cached;
    if (budget.reads <= 0) return null;
    budget.reads--;
    let record;
    try {
      record = (await this.sources.store.read(topic, queueId, queueOffset, { countMax: 1 })).records[0];
    } catch {
      return null; // e.g. retention deleted the segment meanwhile: no series for this pair this scrape
    }
    if (!record) return Infinity; // nothing readable there any more
    // Past retention the read starts at the queue's first message: not cached, retention moves it.
    if (record.queueOffset === queueOffset) {
      if (this.storeTimes.size >= STORE_TIME_CACHE_MAX) this.storeTimes.clear();
      this.storeTimes.set(key, record.storeTimestampMs);
    }
    return record.storeTimestampMs;
  }
}
