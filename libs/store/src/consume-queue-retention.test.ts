// ConsumeQueue under retention: the minimum entry advances with the log's first offset, files
// wholly below it are deleted (never the one holding the last entry), and what stays keeps
// entry n at its place.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeTempDir } from '@rmq/testing';
import { CONSUME_QUEUE_ENTRY_BYTES, ConsumeQueue, entryAt } from './consume-queue';
import { QueueFiles } from './queue-files';
import { FileHandlePool } from './file-handle-pool';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now());
const ENTRIES_PER_FILE = 100;
const HOT = 16;

async function entryOf(queue: ConsumeQueue, queueOffset: number): Promise<number | undefined> {
  const { queueOffset: from, entries } = await queue.entriesFrom(queueOffset, 1);
  return from === queueOffset && entries.length > 0 ? entryAt(entries, 0).logOffset : undefined;
}

describe('ConsumeQueue.advanceMinToLogOffset', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let pool: FileHandlePool;
  beforeEach(() => {
    temp = makeTempDir('cq-retention');
    pool = new FileHandlePool(8);
  });
  afterEach(async () => {
    await pool.closeAll();
    temp.remove();
  });

  const logOffsetOf = (queueOffset: number) => 1000 + queueOffset * 100;

  it('moves the minimum to the first entry at or above the log offset, never back, and says what it dropped', async () => {
    const queue = ConsumeQueue.empty('T', 0, new QueueFiles(join(temp.path, 'q'), ENTRIES_PER_FILE, pool), HOT);
    for (let n = 0; n < 10; n++) queue.append({ logOffset: logOffsetOf(n), sizeBytes: 50, tagHash: n });
    expect(await queue.advanceMinToLogOffset(logOffsetOf(3) - 1)).toEqual({ fromQueueOffset: 0, toQueueOffset: 3 });
    expect(await entryOf(queue, 2)).toBeUndefined();
    expect(await entryOf(queue, 3)).toBe(logOffsetOf(3));
    expect(await queue.advanceMinToLogOffset(0)).toBeUndefined();
    expect(queue.minQueueOffset).toBe(3);
    expect(await queue.advanceMinToLogOffset(logOffsetOf(9) + 1)).toEqual({ fromQueueOffset: 3, toQueueOffset: 10 });
    expect(queue.minQueueOffset).toBe(10);
    expect(queue.append({ logOffset: logOffsetOf(10), sizeBytes: 50, tagHash: 10 })).toBe(10);
    expect(await entryOf(queue, 10)).toBe(logOffsetOf(10));
  });

  it('deletes the files wholly below the minimum once persisted, never the one holding the last entry, and reloads the rest', async () => {
    const files = new QueueFiles(join(temp.path, 'q'), ENTRIES_PER_FILE, pool);
    const queue = ConsumeQueue.empty('T', 0, files, HOT);
    for (let n = 0; n < 500; n++) queue.append({ logOffset: logOffsetOf(n), sizeBytes: 50, tagHash: n });
    await queue.persist();
    expect(readdirSync(files.dir).length).toBe(5);
    expect(await queue.advanceMinToLogOffset(logOffsetOf(250))).toEqual({ fromQueueOffset: 0, toQueueOffset: 250 });
    expect([0, 100, 200, 300, 400].map((start) => existsSync(files.pathOf(start)))).toEqual([false, false, true, true, true]);
    expect(await entryOf(queue, 250)).toBe(logOffsetOf(250));
    // Everything below retention: the last file stays, so its size still says the count.
    expect(await queue.advanceMinToLogOffset(logOffsetOf(500))).toEqual({ fromQueueOffset: 250, toQueueOffset: 500 });
    expect(readdirSync(files.dir)).toEqual([files.pathOf(400).slice(files.dir.length + 1)]);
    await queue.close();
    const loaded = await ConsumeQueue.load('T', 0, files, HOT, 500);
    expect(loaded!.count).toBe(500);
    expect(await loaded!.advanceMinToLogOffset(logOffsetOf(500))).toEqual({ fromQueueOffset: 400, toQueueOffset: 500 });
    expect(loaded!.append({ logOffset: logOffsetOf(500), sizeBytes: 50, tagHash: 0 })).toBe(500);
  });

  it('agrees with a plain array model under appends, persists, advances and truncation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 300 }) }),
            fc.record({ kind: fc.constant('persist' as const) }),
            fc.record({ kind: fc.constant('advance' as const), fraction: fc.double({ min: 0, max: 1.1, noNaN: true }) }),
            fc.record({ kind: fc.constant('truncate' as const), fraction: fc.double({ min: 0, max: 1.1, noNaN: true }) }),
          ),
          { maxLength: 12 },
        ),
        async (steps) => {
          const dir = makeTempDir('cq-model');
          const files = new QueueFiles(join(dir.path, 'q'), ENTRIES_PER_FILE, pool);
          try {
            const queue = ConsumeQueue.empty('T', 0, files, HOT);
            const model: number[] = [];
            let min = 0;
            let logMin = 0; // where the log starts: the highest offset retention advanced to
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
                  const before = min;
                  logMin = Math.max(logMin, logOffset);
                  min = Math.max(min, first === -1 ? model.length : first);
                  expect(await queue.advanceMinToLogOffset(logOffset)).toEqual(min > before ? { fromQueueOffset: before, toQueueOffset: min } : undefined);
                } else {
                  // The log is only ever cut inside what retention left of it.
                  const cut = Math.max(logOffset, logMin);
                  while (model.length > 0 && model[model.length - 1] >= cut) model.pop();
                  min = Math.min(min, model.length);
                  await queue.truncateFromLogOffset(cut);
                }
              }
              expect(queue.count).toBe(model.length);
              expect(queue.minQueueOffset).toBe(min);
              for (const n of [min - 1, min, Math.floor((min + model.length) / 2), model.length - 1, model.length]) {
                expect(await entryOf(queue, n)).toBe(n >= min && n < model.length ? model[n] : undefined);
              }
            }
            await queue.close();
            const loaded = await ConsumeQueue.load('T', 0, files, HOT, model.length);
            expect(loaded?.count).toBe(model.length);
            if (model.length > 0) {
              await loaded!.advanceMinToLogOffset(model[min] ?? Number.MAX_SAFE_INTEGER);
              expect(loaded!.minQueueOffset).toBe(min);
              const { entries } = await loaded!.entriesFrom(min, model.length - min);
              for (let at = 0; at < entries.length; at += CONSUME_QUEUE_ENTRY_BYTES) expect(entryAt(entries, at).logOffset).toBe(model[min + at / CONSUME_QUEUE_ENTRY_BYTES]);
            }
          } finally {
            await pool.closeAll();
            dir.remove();
          }
        },
      ),
      { numRuns: 40, seed: FC_SEED },
    );
  });
});
