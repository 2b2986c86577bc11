// ConsumeQueue under retention: the minimum entry advances with the log's first offset, memory
// is released, and the file keeps entry n at byte n * 20.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { CONSUME_QUEUE_ENTRY_BYTES, ConsumeQueue } from './consume-queue';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());

describe('ConsumeQueue.advanceMinToLogOffset', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('cq-retention')));
  afterEach(() => temp.remove());

  const logOffsetOf = (queueOffset: number) => 1000 + queueOffset * 100;

  it('moves the minimum to the first entry at or above the log offset, and never back', () => {
    const queue = ConsumeQueue.empty('T', 0, join(temp.path, 'q'));
    for (let n = 0; n < 10; n++) queue.append({ logOffset: logOffsetOf(n), sizeBytes: 50, tagHash: n });
    expect(queue.advanceMinToLogOffset(logOffsetOf(3) - 1)).toBe(3);
    expect(queue.entry(2)).toBeUndefined();
    expect(queue.entry(3)).toEqual({ logOffset: logOffsetOf(3), sizeBytes: 50, tagHash: 3 });
    expect(queue.advanceMinToLogOffset(0)).toBe(3);
    expect(queue.advanceMinToLogOffset(logOffsetOf(9) + 1)).toBe(10);
    expect(queue.minQueueOffset).toBe(10);
    expect(queue.append({ logOffset: logOffsetOf(10), sizeBytes: 50, tagHash: 10 })).toBe(10);
    expect(queue.entry(10)?.logOffset).toBe(logOffsetOf(10));
  });

  it('releases persisted entries below the minimum from memory yet keeps entry n at byte n * 20 of the file', async () => {
    const path = join(temp.path, 'q');
    const queue = ConsumeQueue.empty('T', 0, path);
    for (let n = 0; n < 5000; n++) queue.append({ logOffset: logOffsetOf(n), sizeBytes: 50, tagHash: n });
    // Not persisted yet: nothing may leave memory, and the next persist still writes everything.
    expect(queue.advanceMinToLogOffset(logOffsetOf(1000))).toBe(1000);
    await queue.persist();
    expect(queue.advanceMinToLogOffset(logOffsetOf(4000))).toBe(4000);
    for (let n = 5000; n < 6000; n++) queue.append({ logOffset: logOffsetOf(n), sizeBytes: 50, tagHash: n });
    expect(queue.entry(3999)).toBeUndefined();
    expect(queue.entry(4000)?.logOffset).toBe(logOffsetOf(4000));
    expect(queue.entry(5999)?.logOffset).toBe(logOffsetOf(5999));
    await queue.close();

    const bytes = readFileSync(path);
    expect(bytes.length).toBe(6000 * CONSUME_QUEUE_ENTRY_BYTES);
    for (const n of [0, 3999, 4000, 5000, 5999]) expect(Number(bytes.readBigUInt64BE(n * CONSUME_QUEUE_ENTRY_BYTES))).toBe(logOffsetOf(n));
    const loaded = await ConsumeQueue.load('T', 0, path, Number.MAX_SAFE_INTEGER);
    expect(loaded.advanceMinToLogOffset(logOffsetOf(4000))).toBe(4000);
    expect(loaded.count).toBe(6000);
  });

  it('agrees with a plain array model under appends, persists, advances and truncation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 1500 }) }),
            fc.record({ kind: fc.constant('persist' as const) }),
            fc.record({ kind: fc.constant('advance' as const), fraction: fc.double({ min: 0, max: 1.1, noNaN: true }) }),
            fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1.1, noNaN: true }) }),
          ),
          { maxLength: 12 },
        ),
        async (steps) => {
          const dir = makeTempDir('cq-model');
          try {
            const queue = ConsumeQueue.empty('T', 0, join(dir.path, 'q'));
            const model: number[] = [];
            let min = 0;
            for (const step of steps) {
              if (step.kind === 'append') {
                for (let i = 0; i < step.count; i++) {
                  const logOffset = (model.at(-1) ?? 0) + 10;
                  model.push(logOffset);
                  expect(queue.append({ logOffset, sizeBytes: 1, tagHash: 0 })).toBe(model.length - 1);
                }
              } else if (step.kind === 'persist') {
                await queue.persist();
              } else {
                const logOffset = Math.floor(((model.at(-1) ?? 0) + 10) * step.fraction);
                if (step.kind === 'advance') {
                  const first = model.findIndex((offset) => offset >= logOffset);
                  min = Math.max(min, first === -1 ? model.length : first);
                  expect(queue.advanceMinToLogOffset(logOffset)).toBe(min);
                } else {
                  // Recovery only cuts above what retention deleted.
                  const cut = Math.max(logOffset, model[min] ?? logOffset);
                  while (model.length > 0 && model[model.length - 1] >= cut) model.pop();
                  min = Math.min(min, model.length);
                  queue.truncateFromLogOffset(cut);
                }
              }
              expect(queue.count).toBe(model.length);
              expect(queue.minQueueOffset).toBe(min);
              for (const n of [min - 1, min, Math.floor((min + model.length) / 2), model.length - 1, model.length]) {
                expect(queue.entry(n)?.logOffset).toBe(n >= min && n < model.length ? model[n] : undefined);
              }
            }
            await queue.close();
            if (model.length > 0) {
              const bytes = readFileSync(join(dir.path, 'q'));
              for (let n = 0; n < model.length; n++) expect(Number(bytes.readBigUInt64BE(n * CONSUME_QUEUE_ENTRY_BYTES))).toBe(model[n]);
            }
          } finally {
            dir.remove();
          }
        },
      ),
      { numRuns: 40, seed: FC_SEED },
    );
  });
});
