// The commit log's segment arithmetic and its recovery scan, driven directly (no message store):
// records that end exactly on a segment boundary, blanks at segment tails, torn tails.
import { openSync, readdirSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { CommitLog, segmentName, type Chunk } from './commit-log';
import { encodeBlank, encodeRecord, encodedSizeBytes, type RecordInput } from './record';
import type { StoredRecord } from './record-view';

const SEGMENT_BYTES = 4096;

function inputOfSize(sizeBytes: number): RecordInput {
  const empty: RecordInput = { topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1, properties: new Map(), body: new Uint8Array(0) };
  const bodyBytes = sizeBytes - encodedSizeBytes(empty);
  if (bodyBytes < 0) throw new Error(`a record cannot be smaller than ${encodedSizeBytes(empty)} bytes`);
  return { ...empty, body: Buffer.alloc(bodyBytes, 0x61) };
}

/** Appends records of the given sizes the way the store does: reserve, then one write per batch. */
async function appendSizes(log: CommitLog, sizes: number[], firstQueueOffset = 0): Promise<number[]> {
  const chunks: Chunk[] = [];
  const logOffsets: number[] = [];
  sizes.forEach((sizeBytes, i) => {
    const { logOffset, blank } = log.reserve(sizeBytes);
    if (blank) chunks.push({ logOffset: blank.logOffset, bytes: encodeBlank(blank.sizeBytes) });
    chunks.push({ logOffset, bytes: encodeRecord(inputOfSize(sizeBytes), { logOffset, queueOffset: firstQueueOffset + i, storeTimestampMs: 2 }) });
    logOffsets.push(logOffset);
  });
  await log.datasync(await log.write(chunks));
  return logOffsets;
}

async function reopen(dir: string, replayFromLogOffset = 0): Promise<{ log: CommitLog; records: StoredRecord[]; report: Awaited<ReturnType<typeof CommitLog.open>>['report'] }> {
  const records: StoredRecord[] = [];
  const { log, report } = await CommitLog.open(dir, SEGMENT_BYTES, replayFromLogOffset, (record) => records.push(record));
  return { log, records, report };
}

describe('CommitLog', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('commit-log')));
  afterEach(() => temp.remove());

  it('starts a new segment behind a blank when a record does not fit, and replays across it', async () => {
    const { log } = await reopen(temp.path);
    const logOffsets = await appendSizes(log, [1500, 1500, 1500, 100]);
    expect(logOffsets).toEqual([0, 1500, SEGMENT_BYTES, SEGMENT_BYTES + 1500]);
    await log.close();
    const { log: reopened, records, report } = await reopen(temp.path);
    expect(records.map((record) => record.logOffset)).toEqual(logOffsets);
    expect(report).toMatchObject({ logEndOffset: SEGMENT_BYTES + 1600, recordsReplayed: 4 });
    expect(report.truncated).toBeUndefined();
    await reopened.close();
  });

  it('rolls a record that would leave less room than a blank record needs', async () => {
    const { log } = await reopen(temp.path);
    // After the first record 2096 bytes are free; a 2092-byte record would leave 4, too few for a blank.
    const logOffsets = await appendSizes(log, [2000, SEGMENT_BYTES - 2000 - 4, 100]);
    expect(logOffsets).toEqual([0, SEGMENT_BYTES, SEGMENT_BYTES + 2092]);
    await log.close();
    const { log: reopened, records } = await reopen(temp.path);
    expect(records.map((record) => record.logOffset)).toEqual(logOffsets);
    await reopened.close();
  });

  it('cuts a torn record at the tail of the last segment and keeps everything before it', async () => {
    const { log } = await reopen(temp.path);
    const logOffsets = await appendSizes(log, [1000, 1000]);
    await log.close();
    const path = join(temp.path, segmentName(0));
    const torn = encodeRecord(inputOfSize(800), { logOffset: 2000, queueOffset: 2, storeTimestampMs: 3 }).subarray(0, 300);
    const fd = openSync(path, 'r+');
    writeSync(fd, torn, 0, torn.length, 2000);
    closeSync(fd);
    const { log: reopened, records, report } = await reopen(temp.path);
    expect(records.map((record) => record.logOffset)).toEqual(logOffsets);
    expect(report.truncated).toEqual({ atLogOffset: 2000, reason: 'incomplete record at the end (torn write)', segmentsRemoved: 0 });
    expect(statSync(path).size).toBe(2000);
    await reopened.close();
  });

  // Regression: reserve() lets a record fill a segment exactly (no blank behind it); the recovery
  // scan once took the fewer than 8 bytes left as the end of the log and truncated the next
  // segment to 0 bytes, losing every later record whenever it scanned across such a boundary.
  it('replays the next segment after a record that fills a segment exactly', async () => {
    const { log } = await reopen(temp.path);
    const logOffsets = await appendSizes(log, [2048, 2048, 300, 300]);
    expect(logOffsets).toEqual([0, 2048, SEGMENT_BYTES, SEGMENT_BYTES + 300]);
    await log.close();
    const { log: reopened, records, report } = await reopen(temp.path);
    await reopened.close();
    expect(readdirSync(temp.path).length).toBe(2);
    expect(statSync(join(temp.path, segmentName(SEGMENT_BYTES))).size).toBe(600);
    expect(report.logEndOffset).toBe(SEGMENT_BYTES + 600);
    expect(records.map((record) => record.logOffset)).toEqual(logOffsets);
  });
});
