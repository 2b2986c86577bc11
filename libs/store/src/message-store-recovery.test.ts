// Recovery of the whole store from damaged or interrupted states that a crash or a bad disk can
// leave: a corrupted record in the middle of the log, a segment filled exactly, queue files and a
// checkpoint written while appends were running. The SIGKILL crash test is test/crash.chaos.test.ts.
import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { segmentName } from './commit-log';
import { MessageStore, type AppendInput, type AppendResult, type StoreEvent } from './message-store';
import { encodedSizeBytes } from './record';

const SEGMENT_BYTES = 4096;

function message(queueId: number, body: string | Buffer): AppendInput {
  return { topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map([['KEYS', 'k']]), body: Buffer.from(body) };
}

/** A message whose encoded record is exactly `sizeBytes` long. */
function messageOfSize(queueId: number, sizeBytes: number): AppendInput {
  const bodyBytes = sizeBytes - encodedSizeBytes(message(queueId, ''));
  return message(queueId, Buffer.alloc(bodyBytes, 0x62));
}

/** Every body of a queue, paging as a consumer would (one read scans a bounded number of entries). */
async function readAll(store: MessageStore, queueId: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let from = 0; from < store.queueRange('T', queueId).maxQueueOffset; ) {
    const { records, nextQueueOffset } = await store.read('T', queueId, from, { countMax: 10_000 });
    bodies.push(...records.map((record) => record.body.toString()));
    from = nextQueueOffset;
  }
  return bodies;
}

function recoveredEvent(events: StoreEvent[]): Extract<StoreEvent, { kind: 'recovered' }> {
  const event = events.find((candidate) => candidate.kind === 'recovered');
  if (!event || event.kind !== 'recovered') throw new Error('no recovered event');
  return event;
}

describe('MessageStore recovery from damage', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store-damage')));
  afterEach(() => temp.remove());

  it.each([
    { damage: 'a body byte', offsetInRecord: 200, expectedReason: 'CRC mismatch' },
    { damage: 'the magic', offsetInRecord: 5, expectedReason: 'bad magic 0x52205131' },
    { damage: 'the record log offset', offsetInRecord: 20, expectedReason: 'CRC mismatch' },
  ])('stops at a record with $damage corrupted in the middle of a segment, removes later segments and says where and why', async ({ offsetInRecord, expectedReason }) => {
    // Unclean stop with the checkpoint at the start, so recovery scans every segment.
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, checkpointIntervalMs: 60_000 });
    const results: AppendResult[] = [];
    for (let i = 0; i < 40; i++) results.push(...(await store.append([message(i % 2, `m${i}-${'x'.repeat(300)}`)])));
    const segments = readdirSync(join(temp.path, 'commitlog')).sort();
    expect(segments.length).toBeGreaterThanOrEqual(4);
    // A record in the middle of the second segment.
    const inSecond = results.filter((result) => result.logOffset >= SEGMENT_BYTES && result.logOffset < 2 * SEGMENT_BYTES);
    const victim = inSecond[Math.floor(inSecond.length / 2)];
    const victimIndex = results.indexOf(victim);
    const fd = openSync(join(temp.path, 'commitlog', segmentName(SEGMENT_BYTES)), 'r+');
    writeSync(fd, Buffer.from([0x20]), 0, 1, victim.logOffset - SEGMENT_BYTES + offsetInRecord);
    closeSync(fd);

    const events: StoreEvent[] = [];
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, onEvent: (event) => events.push(event) });
    const event = recoveredEvent(events);
    expect(event.cleanShutdown).toBe(false);
    expect(event.report.truncated).toEqual({ atLogOffset: victim.logOffset, reason: expectedReason, segmentsRemoved: segments.length - 2 });
    expect(readdirSync(join(temp.path, 'commitlog')).sort()).toEqual(segments.slice(0, 2));
    expect(statSync(join(temp.path, 'commitlog', segmentName(SEGMENT_BYTES))).size).toBe(victim.logOffset - SEGMENT_BYTES);

    // Exactly the records before the damaged one remain, in order, with consecutive queue offsets.
    const kept = Array.from({ length: victimIndex }, (_, i) => i);
    for (const queueId of [0, 1]) {
      const bodies = kept.filter((i) => i % 2 === queueId).map((i) => `m${i}-${'x'.repeat(300)}`);
      expect(await readAll(reopened, queueId)).toEqual(bodies);
      expect(reopened.queueRange('T', queueId).maxQueueOffset).toBe(bodies.length);
    }
    // Appends continue where the log was cut, and a clean restart keeps them without cutting again.
    const [next] = await reopened.append([message(victimIndex % 2, 'after')]);
    expect(next.logOffset).toBe(victim.logOffset);
    await reopened.close();
    const events2: StoreEvent[] = [];
    const third = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, onEvent: (e) => events2.push(e) });
    expect(recoveredEvent(events2).report.truncated).toBeUndefined();
    expect((await readAll(third, victimIndex % 2)).at(-1)).toBe('after');
    await third.close();
  });

  // Regression: a record that filled its segment exactly once made recovery stop there (see
  // commit-log.test.ts "replays the next segment after a record that fills a segment exactly"),
  // losing the acknowledged sync-mode records behind it.
  it('keeps acknowledged records behind a record that filled its segment exactly, after an unclean stop', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, checkpointIntervalMs: 60_000 });
    const results = await store.append([messageOfSize(0, SEGMENT_BYTES / 2), messageOfSize(0, SEGMENT_BYTES / 2)]);
    const [third] = await store.append([message(0, 'acknowledged')]);
    expect([...results.map((result) => result.logOffset), third.logOffset]).toEqual([0, SEGMENT_BYTES / 2, SEGMENT_BYTES]);
    // Unclean stop: the store is abandoned, its checkpoint still at 0.
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES });
    try {
      expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(3);
      expect((await readAll(reopened, 0)).at(-1)).toBe('acknowledged');
    } finally {
      await reopened.close();
    }
  });

  // Regression: the checkpoint timer persists queue files while appends are confirmed; persist()
  // once marked entries it never wrote as persisted (see consume-queue.test.ts "persists an entry
  // appended while an earlier persist is still writing"), leaving a zero entry in the file that
  // read as log offset 0 after any restart. Every new entry makes the queue due here, so
  // checkpoints write it as often as they run.
  it('reads every record back after a clean restart when checkpoints ran during appends', async () => {
    const failures: unknown[] = [];
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 25, queuePersistEntriesMin: 1, onEvent: (event) => event.kind === 'writeFailed' && failures.push(event.error) });
    const appendersCount = 32;
    const deadlineMs = Date.now() + 1000;
    let appended = 0;
    await Promise.all(
      Array.from({ length: appendersCount }, async (_, appender) => {
        for (let i = 0; Date.now() < deadlineMs; i++) {
          await store.append([message(0, `${appender}-${i}`)]);
          appended++;
        }
      }),
    );
    await store.close();
    expect(failures).toEqual([]);
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    try {
      expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(appended);
      const bodies = await readAll(reopened, 0);
      expect(bodies.length).toBe(appended);
    } finally {
      await reopened.close();
    }
  });

  // Regression: the checkpoint once ran on a plain setInterval, so one that took longer than
  // checkpointIntervalMs (many queues, each with its own fdatasync, or an fdatasync stall) had the
  // next start beside it; both renamed checkpoint.json.tmp, the second failed with ENOENT, and the
  // store refused every later append. Every new entry makes its queue due here.
  it('keeps accepting appends when a checkpoint takes longer than the checkpoint interval', async () => {
    const failures: unknown[] = [];
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', checkpointIntervalMs: 2, queuePersistEntriesMin: 1, onEvent: (event) => event.kind === 'writeFailed' && failures.push(event.error) });
    try {
      // 64 queues make each checkpoint 64 fdatasyncs long, far more than 2 ms.
      const deadlineMs = Date.now() + 500;
      for (let round = 0; Date.now() < deadlineMs; round++) await store.append(Array.from({ length: 64 }, (_, queueId) => message(queueId, `r${round}`)));
      expect(failures).toEqual([]);
    } finally {
      await store.close().catch(() => undefined);
    }
  });

  // Regression: in async mode the checkpoint (and queue files) once ran ahead of what was
  // fdatasynced. After a machine crash lost log bytes below it, recovery set the log end at the
  // checkpoint, kept queue entries pointing into the lost bytes, and the next append left a hole
  // of zeros. It must find the real end and drop those entries.
  it('finds the real end of the log when the data ends below the checkpoint (async mode, machine crash)', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'async' });
    const results = await store.append(Array.from({ length: 10 }, (_, i) => message(0, `m${i}`)));
    await store.close();
    // What a machine crash leaves when only the first five records had reached the disk.
    truncateSync(join(temp.path, 'commitlog', segmentName(0)), results[5].logOffset);
    writeFileSync(join(temp.path, 'abort'), '1');
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'async' });
    try {
      expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(5);
      const [next] = await reopened.append([message(0, 'next')]);
      expect(next).toMatchObject({ queueOffset: 5, logOffset: results[5].logOffset });
      expect(await readAll(reopened, 0)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'next']);
    } finally {
      await reopened.close();
    }
  });

  it.each([
    { damage: 'deleted', harm: (path: string) => rmSync(path) },
    { damage: 'cut short', harm: (path: string) => truncateSync(path, 20 * 3 + 7) },
  ])('rebuilds a queue file that was $damage from the log, even after a clean stop', async ({ harm }) => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES });
    for (let i = 0; i < 30; i++) await store.append([message(i % 2, `m${i}`)]);
    await store.close();
    harm(join(temp.path, 'consumequeue', 'T', '1', '0'.repeat(20))); // the queue's only file
    const events: StoreEvent[] = [];
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, onEvent: (event) => events.push(event) });
    try {
      expect(events.find((event) => event.kind === 'queuesRebuilding')).toEqual({ kind: 'queuesRebuilding', queues: ['T/1'] });
      for (const queueId of [0, 1]) {
        const expected = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 2 === queueId).map((i) => `m${i}`);
        expect(await readAll(reopened, queueId)).toEqual(expected);
      }
      const [next] = await reopened.append([message(1, 'after')]);
      expect(next.queueOffset).toBe(15);
    } finally {
      await reopened.close();
    }
  });

  it.each([
    { damage: 'deleted', harm: (path: string) => rmSync(path) },
    { damage: 'cut short', harm: (path: string) => truncateSync(path, 20 * 2) },
  ])('rebuilds a queue file that was $damage when retention already deleted the start of the log', async ({ harm }) => {
    const aged = { nowMs: () => Date.now() + 100 * 60 * 60 * 1000 }; // past the 72 h retention
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES });
    for (let i = 0; i < 40; i++) await store.append([message(0, `m${i}-${'x'.repeat(300)}`)]);
    await store.close();
    const trimmed = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, clock: aged });
    const { minQueueOffset } = trimmed.queueRange('T', 0);
    expect(minQueueOffset).toBeGreaterThan(0);
    await trimmed.close();
    harm(join(temp.path, 'consumequeue', 'T', '0', '0'.repeat(20))); // the queue's only file
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, clock: aged });
    try {
      expect(reopened.queueRange('T', 0)).toEqual({ minQueueOffset, maxQueueOffset: 40 });
      const { records } = await reopened.read('T', 0, 0, { countMax: 100 });
      expect(records.map((record) => record.queueOffset)).toEqual(Array.from({ length: 40 - minQueueOffset }, (_, i) => minQueueOffset + i));
      expect((await reopened.append([message(0, 'after')]))[0].queueOffset).toBe(40);
    } finally {
      await reopened.close();
    }
  });

  it('removes the abort marker on close and reports a clean shutdown on the next open', async () => {
    const store = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync' });
    expect(existsSync(join(temp.path, 'abort'))).toBe(true);
    await store.append([message(0, 'a')]);
    await store.close();
    expect(existsSync(join(temp.path, 'abort'))).toBe(false);
    const events: StoreEvent[] = [];
    const reopened = await MessageStore.open({ dataDir: temp.path, flushMode: 'sync', onEvent: (event) => events.push(event) });
    expect(recoveredEvent(events)).toMatchObject({ cleanShutdown: true, report: { recordsReplayed: 0 } });
    await reopened.close();
  });
});
