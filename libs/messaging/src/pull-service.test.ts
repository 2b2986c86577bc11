import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { MessageStore } from '@rmq/store';
import { ProducerService } from './producer-service';
import { PullService } from './pull-service';
import type { PullOffsetStore } from './pull-offsets';
import { openBrokerState } from './broker-state';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

describe('PullService.queryOffset by time', () => {
  it('lands on the first message stored at or after the time, for any time', async () => {
    const temp = makeTempDir('pull');
    let nowMs = 1_000_000;
    const clock = { nowMs: () => nowMs };
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async', clock });
    try {
      const state = await openBrokerState({ store, dataDir: temp.path, clock, autoCreateGroups: true, groupDefaults: () => ({ maxAttempts: 3, retry: { kind: 'customized', delaysMs: [1_000] }, fifo: false, consumeType: 'clustering', consumeEnabled: true }) });
      const topics = state.topics;
      await topics.create('P', { queueCount: 1 });
      const producer = new ProducerService(store, topics);
      // Store times that repeat and jump, in log order.
      const times = fc.sample(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 150, maxLength: 150 }), { numRuns: 1, seed: FC_SEED })[0];
      const storeTimes: number[] = [];
      for (const [i, step] of times.entries()) {
        nowMs += step;
        await producer.send([{ topic: 'P', body: Buffer.from(`m${i}`), messageId: `m${i}`, messageType: 'NORMAL', keys: [], bornTimestampMs: nowMs, bornHost: 'h', userProperties: new Map() }]);
        storeTimes.push(nowMs);
      }
      const offsets: PullOffsetStore = { get: () => undefined, set: async () => undefined };
      const pulls = new PullService(store, topics, offsets, clock);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: storeTimes[0] - 5, max: nowMs + 5 }), async (t) => {
          const expected = storeTimes.findIndex((ms) => ms >= t);
          expect(await pulls.queryOffset('P', 0, 'TIMESTAMP', t)).toBe(expected === -1 ? storeTimes.length : expected);
        }),
        { numRuns: 300, seed: FC_SEED },
      );
      expect(await pulls.queryOffset('P', 0, 'END')).toBe(150);
      pulls.close();
      await state.journal.close();
    } finally {
      await store.close();
      temp.remove();
    }
  });
});
