// Scrape cost of the consumer gauges (`npm run bench:consumer-gauges`): lag, ready and in flight
// per (group, topic) with many groups x queues, computed as the broker did before (a walk over
// every group's state in every queue, with a queue-range lookup each) and as it does now
// (ConsumerBacklog over messaging's running sums), in the same run, on a real store and real
// broker state. Prints the time per scrape of each and their ratio, and checks both agree. (What
// keeping the sums adds to each progress change: libs/messaging/src/progress-totals.bench.ts.)
// Options: --groups <n> (default 1000), --topics <n> (default 4), --queues <n> per topic (default 16).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { openBrokerState, type ConsumerProgress } from '@rmq/messaging';
import { ConsumerBacklog } from './consumer-backlog';

function parseOptions(argv: string[]): { groups: number; topics: number; queues: number } {
  const options = { groups: 1_000, topics: 4, queues: 16 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in options)) throw new Error(`unknown option ${argv[i]} (known: --groups, --topics, --queues)`);
    const value = Number(argv[i + 1]);
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`${argv[i]} needs a positive whole number, got "${argv[i + 1]}"`);
    options[name as keyof typeof options] = value;
  }
  return options;
}

/** The broker's former scrape: one pass over every (group, topic, queue) state. */
function walkEveryState(progress: ConsumerProgress, store: MessageStore): { topic: string; group: string; lag: number; ready: number; inflight: number }[] {
  const byKey = new Map<string, { topic: string; group: string; lag: number; ready: number; inflight: number }>();
  for (const { key, state } of progress.groupStates()) {
    const id = `${key.g}\u0000${key.t}`;
    let entry = byKey.get(id);
    if (!entry) byKey.set(id, (entry = { topic: key.t, group: key.g, lag: 0, ready: 0, inflight: 0 }));
    const maxQueueOffset = store.queueRange(key.t, key.q).maxQueueOffset;
    entry.lag += Math.max(0, maxQueueOffset - state.committedOffset);
    entry.inflight += state.inflightCount;
    entry.ready += Math.max(0, maxQueueOffset - state.nextOffset);
  }
  return [...byKey.values()];
}

/** Median milliseconds per call of `run`, over rounds of at least ~200 ms. */
function timePerCall(run: () => unknown): number {
  for (let i = 0; i < 3; i++) run(); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    let calls = 0;
    const startedMs = performance.now();
    while (performance.now() - startedMs < 200) {
      run();
      calls++;
    }
    samples.push((performance.now() - startedMs) / calls);
  }
  return samples.sort((a, b) => a - b)[2];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'rmq-consumer-gauges-'));
  const store = await MessageStore.open({ dataDir: join(dir, 'store'), flushMode: 'async' });
  const state = await openBrokerState({
    store, dataDir: dir, clock: systemClock, autoCreateGroups: true,
    groupDefaults: () => ({ maxAttempts: 17, retry: { kind: 'customized', delaysMs: [10_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }),
  });
  try {
    const topics = Array.from({ length: options.topics }, (_, t) => `Topic${t}`);
    for (const topic of topics) {
      await state.topics.create(topic, { queueCount: options.queues });
      for (let q = 0; q < options.queues; q++) {
        await store.append(Array.from({ length: 4 }, () => ({ topic, queueId: q, tagHash: 0, flags: 0, bornTimestampMs: Date.now(), properties: new Map(), body: Buffer.alloc(16) })));
      }
    }
    // Every group reads every queue of one topic; each has taken two messages and acked one.
    let deliveries = 0;
    for (let g = 0; g < options.groups; g++) {
      const topic = topics[g % topics.length];
      for (let q = 0; q < options.queues; q++) {
        const key = { g: `group-${g}`, t: topic, q };
        const queue = state.progress.state(key, false);
        for (let i = 0; i < 2; i++) state.progress.admit(key, queue, queue.nextOffset, undefined, { deliveryId: `d${deliveries++}`, visibleAtMs: Date.now() + 60_000, attempt: 1 });
        void state.progress.complete(key, queue, 0, queue.current(0)!.deliveryId);
      }
    }
    const backlog = new ConsumerBacklog({ totals: () => state.progress.totals.list(), peek: (key) => state.progress.peek(key), store, nowMs: () => Date.now() });
    const sorted = <T extends { topic: string; group: string }>(list: T[]) => [...list].sort((a, b) => (a.group + a.topic).localeCompare(b.group + b.topic));
    const before = sorted(walkEveryState(state.progress, store));
    const after = sorted(backlog.counts());
    if (JSON.stringify(before) !== JSON.stringify(after)) throw new Error('the running sums and the walk disagree');

    const walkMs = timePerCall(() => walkEveryState(state.progress, store));
    const sumsMs = timePerCall(() => backlog.counts());
    const states = options.groups * options.queues;
    console.log(`${options.groups} groups x ${options.queues} queues (${states} queue states, ${options.topics} topics, ${options.topics * options.queues} store queues)`);
    console.log(`walk over every state (before): ${walkMs.toFixed(3)} ms per scrape`);
    console.log(`running sums (now):             ${sumsMs.toFixed(3)} ms per scrape`);
    console.log(`ratio before / now:             ${(walkMs / sumsMs).toFixed(1)}x`);
  } finally {
    await state.journal.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
