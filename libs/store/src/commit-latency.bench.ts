// Commit latency of the store alone in sync mode (`npm run bench:commit-latency`): appends paced as
// peerbench's latency test paces sends (every millisecond the records due at --rate, 1 KiB each, in
// one append), the time from append() to its resolution (an fdatasync covering it), p50/p90/p99, and
// every fdatasync's duration. Rounds alternate the write path's settings in one run, so the ratios
// hold on a shared machine: `main` (no zeros written ahead), `zeros` (2 MiB written ahead of the log
// end, zero-ahead.ts, the default), `no-ckpt` (zeros ahead, no periodic checkpoint: what the
// checkpoint's fsyncs cost the log's). Records go to 8 queues in turn.
// Options: --rate <records/s> (2000), --seconds <per round> (5), --rounds (3), --dir (OS temp folder),
// --variants <names, comma-separated> (all).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFileIo, type FileIo } from './file-io';
import { MessageStore, type AppendInput } from './message-store';
import { STORE_LIMITS } from './limits';

const CHECKPOINT_MS = STORE_LIMITS.checkpointIntervalMsDefault;
const VARIANTS = [
  { name: 'main', zeroAheadBytes: 0, checkpointIntervalMs: CHECKPOINT_MS },
  { name: 'zeros', zeroAheadBytes: STORE_LIMITS.zeroAheadBytesDefault, checkpointIntervalMs: CHECKPOINT_MS },
  { name: 'no-ckpt', zeroAheadBytes: STORE_LIMITS.zeroAheadBytesDefault, checkpointIntervalMs: 3_600_000 },
];
const QUEUES = 8;

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

function percentiles(values: number[]): string {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))].toFixed(3);
  return `p50 ${at(50)} p90 ${at(90)} p99 ${at(99)} max ${sorted[sorted.length - 1].toFixed(3)}`;
}

async function round(dir: string, variant: (typeof VARIANTS)[number], rate: number, seconds: number): Promise<string> {
  const syncsMs: number[] = [];
  const fileIo: FileIo = {
    ...nodeFileIo,
    datasync: async (path, file) => {
      const startedMs = performance.now();
      await nodeFileIo.datasync(path, file);
      if (path.includes('commitlog')) syncsMs.push(performance.now() - startedMs);
    },
  };
  const store = await MessageStore.open({ dataDir: dir, flushMode: 'sync', fileIo, zeroAheadBytes: variant.zeroAheadBytes, checkpointIntervalMs: variant.checkpointIntervalMs });
  const body = Buffer.alloc(1024, 0x61);
  const inputs: AppendInput[] = Array.from({ length: QUEUES }, (_, queueId) => ({ topic: 'T', queueId, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: new Map(), body }));
  const latenciesMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const startedMs = performance.now();
  const total = Math.round(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedMs) * rate) / 1000) + 1);
    if (due > sent) {
      const first = sent;
      sent = due;
      const appendedMs = performance.now();
      const done = store.append(Array.from({ length: due - first }, (_, i) => inputs[(first + i) % QUEUES])).then(() => {
        latenciesMs.push(performance.now() - appendedMs);
        inFlight.delete(done);
      });
      inFlight.add(done);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  await store.close();
  return `${variant.name.padEnd(8)} append → committed ms ${percentiles(latenciesMs)} | fdatasync ms n ${syncsMs.length} ${percentiles(syncsMs)}`;
}

async function main(): Promise<void> {
  const rate = Number(option('rate', '2000'));
  const seconds = Number(option('seconds', '5'));
  const rounds = Number(option('rounds', '3'));
  const parent = option('dir', tmpdir());
  const names = option('variants', VARIANTS.map((variant) => variant.name).join(',')).split(',');
  const variants = VARIANTS.filter((variant) => names.includes(variant.name));
  console.log(`commit latency, sync mode, ${rate} records/s of 1 KiB, ${seconds} s per round, ${rounds} rounds`);
  for (let r = 1; r <= rounds; r++) {
    for (const variant of r % 2 === 1 ? variants : [...variants].reverse()) { // the order alternates: no variant always runs first
      const dir = mkdtempSync(join(parent, 'commit-latency-'));
      try {
        console.log(`round ${r} ${await round(dir, variant, rate, seconds)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}

void main();
