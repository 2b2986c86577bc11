// Queue memory benchmark (`npm run bench:store:queue`): one consume queue of 20 million small
// entries written through the store, then opened in a fresh process: how long the open takes and
// the process's resident memory after it, beside the same figures for an empty store measured in
// the same run (so they read as a difference), and once more after an unclean stop (the abort
// marker left: the newest segment is re-read and its entries dispatched again). Targets (issue 11):
// open < 3 s, RSS < 200 MB, and < 100 MB for the empty store. Options: --dir <folder> (default: the OS temp folder),
// --entries <count> (default 20,000,000), --queues <count> (default 1: spread the entries over
// that many queues of one topic), --keep (leave the data for another run: --reuse <dir>).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageStore, type AppendInput } from './message-store';

interface Options {
  dir: string;
  entries: number;
  queues: number;
  keep: boolean;
  reuse?: string;
}

interface OpenFigures {
  openMs: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** V8 heap pages held (used or not) and memory outside it (Buffers): what RSS is made of. */
  heapTotalMiB: number;
  externalMiB: number;
  count: number;
}

const MIB = 1024 * 1024;
const BATCH_RECORDS = 2048;
const APPENDERS = 4;

function parseOptions(argv: string[]): Options {
  const options: Options = { dir: tmpdir(), entries: 20_000_000, queues: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--keep') {
      options.keep = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--dir') options.dir = value;
    else if (flag === '--reuse') options.reuse = value;
    else if (flag === '--entries') options.entries = Number(value);
    else if (flag === '--queues') options.queues = Number(value);
    else throw new Error(`unknown option ${flag} (known: --dir, --entries, --queues, --keep, --reuse)`);
  }
  if (!Number.isInteger(options.entries) || options.entries <= 0) throw new Error('--entries needs a positive whole number');
  if (!Number.isInteger(options.queues) || options.queues <= 0) throw new Error('--queues needs a positive whole number');
  return options;
}

/** The child's job: open the store, wait for the open's garbage to be collected, report. */
async function measureOpenHere(dataDir: string): Promise<void> {
  const startedMs = performance.now();
  const store = await MessageStore.open({ dataDir, flushMode: 'async', indexRebuildScanBytesMax: 0 });
  const openMs = performance.now() - startedMs;
  const count = store.queueList().reduce((sum, queue) => sum + queue.count, 0);
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const figures: OpenFigures = { openMs, rssMiB: memory.rss / MIB, heapUsedMiB: memory.heapUsed / MIB, heapTotalMiB: memory.heapTotal / MIB, externalMiB: memory.external / MIB, count };
  await store.close();
  process.stdout.write(JSON.stringify(figures));
}

/** Opens `dataDir` in a fresh node process, so its memory holds nothing but the open store. */
function measureOpen(dataDir: string): OpenFigures {
  const child = spawnSync(process.execPath, ['--expose-gc', process.argv[1], '--open', dataDir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the measuring process failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as OpenFigures;
}

async function fill(dataDir: string, entries: number, queues: number): Promise<number> {
  const store = await MessageStore.open({ dataDir, flushMode: 'async', indexRebuildScanBytesMax: 0 });
  const body = Buffer.from('01234567');
  const properties = new Map<string, string>();
  const batch = (from: number, count: number): AppendInput[] =>
    Array.from({ length: count }, (_, i) => ({ topic: 'Q', queueId: (from + i) % queues, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties, body }));
  const startedMs = performance.now();
  let reserved = 0;
  await Promise.all(
    Array.from({ length: APPENDERS }, async () => {
      while (reserved < entries) {
        const count = Math.min(BATCH_RECORDS, entries - reserved);
        const from = reserved;
        reserved += count;
        await store.append(batch(from, count));
      }
    }),
  );
  await store.close();
  return (performance.now() - startedMs) / 1000;
}

const format = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(options.dir, 'rmq-queue-bench-'));
  const full = options.reuse ?? join(dir, 'full');
  try {
    const empty = measureOpen(join(dir, 'empty'));
    if (!options.reuse || !existsSync(options.reuse)) {
      const seconds = await fill(full, options.entries, options.queues);
      console.log(`wrote ${format(options.entries)} entries to ${format(options.queues)} queue(s) in ${format(seconds, 1)} s (${format(options.entries / seconds)} appends/s, async mode) in ${full}`);
    }
    const filled = measureOpen(full);
    if (filled.count < options.entries) throw new Error(`the queue holds ${filled.count} entries, expected ${options.entries}`);
    const line = (name: string, figures: OpenFigures) =>
      `${name.padEnd(38)} open ${format(figures.openMs).padStart(6)} ms   RSS ${format(figures.rssMiB, 1).padStart(6)} MiB   ` +
      `heap ${format(figures.heapUsedMiB, 1)} of ${format(figures.heapTotalMiB, 1)} MiB used, external ${format(figures.externalMiB, 1)} MiB`;
    writeFileSync(join(full, 'abort'), 'bench'); // what a crash leaves
    const crashed = measureOpen(full);
    console.log(line('empty store', empty));
    console.log(line(`${format(filled.count)} entries in ${format(options.queues)} queue(s)`, filled));
    console.log(line('the same after an unclean stop', crashed));
    console.log(`difference: open +${format(filled.openMs - empty.openMs)} ms, RSS +${format(filled.rssMiB - empty.rssMiB, 1)} MiB ` +
      `(targets: open < 3,000 ms, RSS < 200 MB full and < 100 MB empty: ${filled.openMs < 3000 && filled.rssMiB * MIB < 200e6 && empty.rssMiB * MIB < 100e6 ? 'met' : 'NOT met'})`);
  } finally {
    if (options.keep) console.log(`kept ${full}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--open') {
  measureOpenHere(process.argv[3]).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
