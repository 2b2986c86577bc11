// Damage below the checkpoint (records that were acknowledged and once on disk): the store never
// cuts them off on its own. It refuses to open and says which segment, which offset and what to
// do; with acceptDataLoss it moves the damaged segment and every later one aside (renamed, never
// deleted), keeps the valid records before the damage and opens.
import { closeSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isRmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { segmentName } from './commit-log';
import { MessageStore, type AppendInput, type AppendResult, type StoreEvent, type StoreOptions } from './message-store';

const SEGMENT_BYTES = 4096;

function message(queueId: number, i: number): AppendInput {
  return { topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(`m${i}-${'x'.repeat(300)}`) };
}

async function bodies(store: MessageStore, queueId: number): Promise<string[]> {
  const { records } = await store.read('T', queueId, 0, { countMax: 1000 });
  return records.map((record) => record.body.toString().split('-')[0]);
}

const scenarios = [
  {
    // A lost queue file makes recovery re-read the log from its start, through the damage.
    name: 'a queue file lost, the damage in the second of several segments',
    victimOf: (results: AppendResult[]) => results.filter((result) => result.logOffset >= SEGMENT_BYTES && result.logOffset < 2 * SEGMENT_BYTES)[2],
    prepare: (dataDir: string) => rmSync(join(dataDir, 'consumequeue', 'T', '1'), { recursive: true }),
  },
  {
    // An unclean stop makes recovery re-read the segment holding the checkpoint.
    name: 'an unclean stop, the damage in the last segment',
    victimOf: (results: AppendResult[]) => results.at(-3)!,
    prepare: (dataDir: string) => writeFileSync(join(dataDir, 'abort'), '1'),
  },
];

describe.each(scenarios)('MessageStore with a damaged record below the checkpoint ($name)', ({ victimOf, prepare }) => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('store-damage-below')));
  afterEach(() => temp.remove());

  const open = (options: Partial<StoreOptions> = {}) => MessageStore.open({ dataDir: temp.path, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, ...options });
  const logDir = () => join(temp.path, 'commitlog');
  const segmentsOnDisk = () => Object.fromEntries(readdirSync(logDir()).sort().map((name) => [name, readFileSync(join(logDir(), name))]));

  /** 40 records over two queues and several segments, a clean close (the checkpoint covers all), then one damaged byte. */
  async function damaged(): Promise<{ results: AppendResult[]; victim: AppendResult; before: Record<string, Buffer> }> {
    const store = await open();
    const results: AppendResult[] = [];
    for (let i = 0; i < 40; i++) results.push(...(await store.append([message(i % 2, i)])));
    await store.close();
    const victim = victimOf(results);
    const segmentStart = victim.logOffset - (victim.logOffset % SEGMENT_BYTES);
    const fd = openSync(join(logDir(), segmentName(segmentStart)), 'r+');
    writeSync(fd, Buffer.from([0x20]), 0, 1, victim.logOffset - segmentStart + 200); // a body byte: CRC mismatch
    closeSync(fd);
    prepare(temp.path);
    return { results, victim, before: segmentsOnDisk() };
  }

  it('refuses to open, naming the segment file, the log offset and what to do, and changes no segment', async () => {
    const { victim, before } = await damaged();
    const segmentStart = victim.logOffset - (victim.logOffset % SEGMENT_BYTES);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await open().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(isRmqError(error, 'STORE_DAMAGED')).toBe(true);
      const text = String((error as Error).message);
      expect(text).toContain(join(logDir(), segmentName(segmentStart)));
      expect(text).toContain(`log offset ${victim.logOffset}`);
      expect(text).toContain('CRC mismatch');
      expect(text).toContain('--accept-data-loss');
      expect(segmentsOnDisk()).toEqual(before);
    }
  });

  it('with acceptDataLoss moves the damaged segments aside unchanged, keeps the records before the damage and opens', async () => {
    const { results, victim, before } = await damaged();
    const segmentStart = victim.logOffset - (victim.logOffset % SEGMENT_BYTES);
    const events: StoreEvent[] = [];
    const store = await open({ acceptDataLoss: true, onEvent: (event) => events.push(event) });
    try {
      const moved = events.find((event) => event.kind === 'segmentsMovedAside');
      const damagedNames = Object.keys(before).filter((name) => Number(name) >= segmentStart);
      expect(moved).toMatchObject({ kind: 'segmentsMovedAside', atLogOffset: victim.logOffset, reason: expect.stringContaining('CRC mismatch') });
      // Every damaged byte is kept, renamed into commitlog-damaged/.
      const movedTo = moved?.kind === 'segmentsMovedAside' ? moved.movedTo : [];
      expect(movedTo.length).toBe(damagedNames.length);
      movedTo.forEach((path, i) => {
        expect(path.startsWith(join(temp.path, 'commitlog-damaged', damagedNames[i]))).toBe(true);
        expect(readFileSync(path)).toEqual(before[damagedNames[i]]);
      });
      // The log keeps the segments before it and the valid start of the damaged one.
      const after = segmentsOnDisk();
      expect(Object.keys(after)).toEqual(Object.keys(before).filter((name) => Number(name) <= segmentStart));
      expect(after[segmentName(segmentStart)]).toEqual(before[segmentName(segmentStart)].subarray(0, victim.logOffset - segmentStart));
      const keptCount = results.indexOf(victim);
      for (const queueId of [0, 1]) {
        const expected = Array.from({ length: keptCount }, (_, i) => i).filter((i) => i % 2 === queueId).map((i) => `m${i}`);
        expect(await bodies(store, queueId)).toEqual(expected);
      }
      const [next] = await store.append([message(0, 99)]);
      expect(next.logOffset).toBe(victim.logOffset);
    } finally {
      await store.close();
    }
    // A clean restart finds nothing more to move.
    const events2: StoreEvent[] = [];
    const reopened = await open({ onEvent: (event) => events2.push(event) });
    expect(events2.some((event) => event.kind === 'segmentsMovedAside')).toBe(false);
    expect((await bodies(reopened, 0)).at(-1)).toBe('m99');
    await reopened.close();
  });
});
