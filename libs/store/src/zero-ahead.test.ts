// Zeros written ahead of the log's end in the segment being written (zero-ahead.ts), and what
// recovery makes of them after a crash (log-recovery.ts): zeros to the end of the file end the
// log exactly as the end of the file would; zeros with other bytes after them are still a cut.
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { segmentName } from './commit-log';
import { MessageStore, type AppendInput, type StoreEvent } from './message-store';

const SEGMENT_BYTES = 1024 * 1024;
const WINDOW_BYTES = 64 * 1024;

function message(body: string | Buffer): AppendInput {
  return { topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(body) };
}

function isZero(bytes: Buffer): boolean {
  return bytes.every((byte) => byte === 0);
}

describe('zeros written ahead of the log end', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('zero-ahead')));
  afterEach(() => temp.remove());
  const open = (flushMode: 'sync' | 'async', events: StoreEvent[] = []) =>
    MessageStore.open({ dataDir: temp.path, flushMode, segmentSizeBytes: SEGMENT_BYTES, zeroAheadBytes: WINDOW_BYTES, checkpointIntervalMs: 60_000, onEvent: (event) => events.push(event) });
  const segmentPath = (start: number) => join(temp.path, 'commitlog', segmentName(start));

  it('keeps a window of zeros after the data, topped up once half of it is used, never past the segment', async () => {
    const store = await open('async');
    try {
      await store.append([message('first')]);
      const firstEnd = store.stats().logEndOffset;
      expect(statSync(segmentPath(0)).size).toBe(firstEnd + WINDOW_BYTES);
      // Appends within the first half of the window write over zeros: the file does not grow.
      while (store.stats().logEndOffset + 1200 < firstEnd + WINDOW_BYTES / 2) await store.append([message(Buffer.alloc(1000, 0x61))]);
      expect(statSync(segmentPath(0)).size).toBe(firstEnd + WINDOW_BYTES);
      await store.append([message(Buffer.alloc(2000, 0x61))]);
      const end = store.stats().logEndOffset;
      expect(end).toBeGreaterThan(firstEnd + WINDOW_BYTES / 2);
      const bytes = readFileSync(segmentPath(0));
      expect(bytes.length).toBe(end + WINDOW_BYTES);
      expect(isZero(bytes.subarray(end))).toBe(true);
      // Into the next segment: the first one's zeros stop at its end, the new one gets its own.
      while (store.stats().logEndOffset < SEGMENT_BYTES) await store.append([message(Buffer.alloc(30_000, 0x62))]);
      expect(statSync(segmentPath(0)).size).toBe(SEGMENT_BYTES);
      expect(statSync(segmentPath(SEGMENT_BYTES)).size).toBe(store.stats().logEndOffset - SEGMENT_BYTES + WINDOW_BYTES);
    } finally {
      await store.close();
    }
  });

  it('recovers zeros after the last record as the end of the log: nothing cut, the zeros kept, appends go on there', async () => {
    const store = await open('sync');
    await store.append([message('m0'), message('m1'), message('m2')]);
    const end = store.stats().logEndOffset;
    const sizeBefore = statSync(segmentPath(0)).size;
    expect(sizeBefore).toBeGreaterThan(end);
    // A crash: no close().
    const events: StoreEvent[] = [];
    const reopened = await open('sync', events);
    try {
      const recovered = events.find((event) => event.kind === 'recovered');
      expect(recovered).toMatchObject({ kind: 'recovered', cleanShutdown: false, report: { logEndOffset: end } });
      expect(recovered?.kind === 'recovered' && recovered.report.truncated).toBeUndefined();
      expect(statSync(segmentPath(0)).size).toBe(sizeBefore);
      const [next] = await reopened.append([message('m3')]);
      expect(next).toMatchObject({ logOffset: end, queueOffset: 3 });
      const { records } = await reopened.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['m0', 'm1', 'm2', 'm3']);
    } finally {
      await reopened.close();
    }
  });

  it('still cuts at zeros where a record should start when other bytes follow them', async () => {
    const store = await open('sync');
    await store.append([message('m0'), message('m1')]);
    const end = store.stats().logEndOffset;
    // A crash in which a later page reached the disk and the one at the log's end did not.
    const fd = openSync(segmentPath(0), 'r+');
    writeSync(fd, Buffer.from('not a record'), 0, 12, end + 4096);
    closeSync(fd);
    const events: StoreEvent[] = [];
    const reopened = await open('sync', events);
    try {
      expect(events.find((event) => event.kind === 'recovered')).toMatchObject({
        report: { logEndOffset: end, truncated: { atLogOffset: end, reason: 'zero bytes where a record should start (unwritten or lost data)' } },
      });
      expect(statSync(segmentPath(0)).size).toBe(end);
      expect((await reopened.read('T', 0, 0, { countMax: 10 })).records.map((record) => record.body.toString())).toEqual(['m0', 'm1']);
    } finally {
      await reopened.close();
    }
  });

  it('finds the real end when the data ends in zeros below the checkpoint (async mode, machine crash), as it does a short file', async () => {
    const store = await open('async');
    const results = await store.append(Array.from({ length: 10 }, (_, i) => message(`m${i}`)));
    await store.close();
    // What a machine crash leaves when only the first five records had reached the disk, and the zeros ahead of them.
    const fd = openSync(segmentPath(0), 'r+');
    const size = statSync(segmentPath(0)).size;
    writeSync(fd, Buffer.alloc(size - results[5].logOffset), 0, size - results[5].logOffset, results[5].logOffset);
    closeSync(fd);
    writeFileSync(join(temp.path, 'abort'), '1');
    const reopened = await open('async');
    try {
      expect(reopened.queueRange('T', 0).maxQueueOffset).toBe(5);
      const [next] = await reopened.append([message('next')]);
      expect(next).toMatchObject({ queueOffset: 5, logOffset: results[5].logOffset });
      const { records } = await reopened.read('T', 0, 0, { countMax: 10 });
      expect(records.map((record) => record.body.toString())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'next']);
    } finally {
      await reopened.close();
    }
  });
});
