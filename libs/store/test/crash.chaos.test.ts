// SIGKILL at random points: a writer process appends from concurrent loops and is killed while
// it runs, again and again on the same folder. After every kill the store is reopened here and
// checked: every record whose append was acknowledged is there, whole and exactly once, and no
// torn record is visible (every read record passes its CRC). Bounded in rounds and in time;
// RMQ_LONG=1 runs far more rounds.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeTempDir } from '@rmq/testing';
import { MessageStore, type FlushMode } from '../src/message-store';

const REPO_ROOT = join(__dirname, '../../..');
const LONG = process.env.RMQ_LONG === '1';
const SEGMENT_BYTES = 64 * 1024; // small, so rounds cross segment boundaries and blanks often
const TOPICS = ['CrashA', 'CrashB'];
const QUEUE_COUNT = 3;

let writerBundle: string;

beforeAll(() => {
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'tools/run-ts.mjs'), '--bundle-only', join(__dirname, 'crash-writer.ts')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bundling the crash writer failed: ${built.stderr}`);
  writerBundle = built.stdout.trim().split('\n').at(-1)!;
}, 60_000);

/** Runs the writer until `killAfterMs` after it is ready, SIGKILLs it, and returns the ids it acknowledged. */
async function runAndKill(dataDir: string, flushMode: FlushMode, round: number, killAfterMs: number): Promise<string[]> {
  const child = spawn(process.execPath, [writerBundle, dataDir, flushMode, String(round), String(SEGMENT_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: child.stdout });
  let killTimer: NodeJS.Timeout | undefined;
  const readyDeadline = setTimeout(() => child.kill('SIGKILL'), 10_000);
  lines.on('line', (line) => {
    if (line === 'ready') {
      clearTimeout(readyDeadline);
      killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    } else if (line.startsWith('A ')) {
      acked.push(...line.slice(2).split(' '));
    }
  });
  const { signal } = await exited;
  clearTimeout(readyDeadline);
  clearTimeout(killTimer);
  if (signal !== 'SIGKILL') throw new Error(`the writer stopped by itself in round ${round}: ${stderr}`);
  return acked;
}

interface Verified {
  ids: Set<string>;
  nextQueueOffsets: Map<string, number>;
  /** What recovery reported, for the failure message. */
  recovery: string;
}

/**
 * Opens the store and reads every queue from `from` on (everything when `from` is empty): each
 * record must be whole (its CRC is checked on read), carry the body its id says, and appear once.
 */
async function readStore(dataDir: string, from: Map<string, number>): Promise<Verified> {
  const verified: Verified = { ids: new Set(), nextQueueOffsets: new Map(), recovery: '' };
  const store = await MessageStore.open({
    dataDir,
    flushMode: 'sync',
    segmentSizeBytes: SEGMENT_BYTES,
    onEvent: (event) => event.kind === 'recovered' && (verified.recovery = JSON.stringify(event.report)),
  });
  try {
    for (const topic of TOPICS) {
      for (let queueId = 0; queueId < QUEUE_COUNT; queueId++) {
        const key = `${topic}/${queueId}`;
        const { minQueueOffset, maxQueueOffset } = store.queueRange(topic, queueId);
        let queueOffset = Math.max(minQueueOffset, from.get(key) ?? 0);
        while (queueOffset < maxQueueOffset) {
          const { records, nextQueueOffset } = await store.read(topic, queueId, queueOffset, { countMax: 1000 });
          for (const record of records) {
            const id = record.properties.get('id')!;
            const body = record.body.toString();
            expect(body.startsWith(`${id}:`) && /^x*$/.test(body.slice(id.length + 1))).toBe(true);
            expect(verified.ids.has(id)).toBe(false);
            verified.ids.add(id);
          }
          expect(nextQueueOffset).toBeGreaterThan(queueOffset);
          queueOffset = nextQueueOffset;
        }
        verified.nextQueueOffsets.set(key, maxQueueOffset);
      }
    }
  } finally {
    await store.close();
  }
  return verified;
}

describe.each<{ flushMode: FlushMode; rounds: number; seconds: number }>([
  { flushMode: 'sync', rounds: LONG ? 2000 : 200, seconds: LONG ? 900 : 60 },
  { flushMode: 'async', rounds: LONG ? 500 : 60, seconds: LONG ? 300 : 20 },
])('store under SIGKILL ($flushMode mode)', ({ flushMode, rounds, seconds }) => {
  it(`keeps every acknowledged record whole and once, over up to ${rounds} kills`, async () => {
    const temp = makeTempDir(`crash-${flushMode}`);
    try {
      const seed = Date.now();
      let random = seed;
      const nextRandom = () => ((random = (Math.imul(random, 1103515245) + 12345) >>> 0) / 2 ** 32);
      const allAcked: string[] = [];
      let from = new Map<string, number>();
      const deadlineMs = Date.now() + seconds * 1000;
      let round = 0;
      for (; round < rounds && Date.now() < deadlineMs; round++) {
        const acked = await runAndKill(temp.path, flushMode, round, 5 + Math.floor(nextRandom() * 120));
        const fresh = await readStore(temp.path, from);
        const missing = acked.filter((id) => !fresh.ids.has(id));
        if (missing.length > 0) throw new Error(`round ${round} (seed ${seed}): ${missing.length} acknowledged records missing, e.g. ${missing.slice(0, 5).join(', ')}; recovery: ${fresh.recovery}`);
        for (const [key, next] of fresh.nextQueueOffsets) expect(next).toBeGreaterThanOrEqual(from.get(key) ?? 0);
        allAcked.push(...acked);
        from = fresh.nextQueueOffsets;
      }
      // Once more from the start: nothing acknowledged in an earlier round was lost later.
      const everything = await readStore(temp.path, new Map());
      const lost = allAcked.filter((id) => !everything.ids.has(id));
      expect({ round, lost: lost.slice(0, 5) }).toEqual({ round, lost: [] });
      expect(round).toBeGreaterThanOrEqual(Math.min(rounds, 10));
      expect(allAcked.length).toBeGreaterThan(round); // the writer really wrote between kills
    } finally {
      temp.remove();
    }
  }, (seconds + 60) * 1000);
});
