// Store benchmark (`npm run bench:store`): appends/s and MB/s of 1 KiB records in async and sync
// mode, restart time after a clean stop and after a crash, each beside this machine's raw disk
// figures measured in the same run (sequential write + fdatasync, 4 KiB write + fdatasync loop),
// so the numbers read as ratios. Options: --dir <folder> (default: the OS temp folder),
// --seconds <per phase> (default 5), --restart-mib <log size to restart with> (default 1024).
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageStore, type AppendInput, type FlushMode, type StoreEvent } from './message-store';

const RECORD_BODY_BYTES = 1024;
const MIB = 1024 * 1024;

interface Options {
  dir: string;
  seconds: number;
  restartMib: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { dir: tmpdir(), seconds: 5, restartMib: 1024 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--dir') options.dir = value;
    else if (flag === '--seconds') options.seconds = Number(value);
    else if (flag === '--restart-mib') options.restartMib = Number(value);
    else throw new Error(`unknown option ${flag} (known: --dir, --seconds, --restart-mib)`);
    if (value === undefined || (flag !== '--dir' && !(Number(value) > 0))) throw new Error(`${flag} needs a positive value`);
  }
  return options;
}

/** dd-style: 1 MiB writes of fresh data to a new file, one fdatasync at the end. */
function rawSequentialWriteMBps(dir: string, totalMib: number): number {
  const path = join(dir, 'raw-sequential');
  const block = Buffer.alloc(MIB, 0x61);
  const fd = openSync(path, 'w');
  const startedMs = performance.now();
  for (let i = 0; i < totalMib; i++) writeSync(fd, block);
  fdatasyncSync(fd);
  const seconds = (performance.now() - startedMs) / 1000;
  closeSync(fd);
  rmSync(path);
  return (totalMib * MIB) / 1e6 / seconds;
}

/** 4 KiB appended, then fdatasync, in a loop: how many durable small writes the disk does. */
function rawFsyncsPerSecond(dir: string, seconds: number): number {
  const path = join(dir, 'raw-fsync');
  const block = Buffer.alloc(4096, 0x62);
  const fd = openSync(path, 'w');
  const endMs = performance.now() + seconds * 1000;
  const startedMs = performance.now();
  let count = 0;
  while (performance.now() < endMs) {
    writeSync(fd, block);
    fdatasyncSync(fd);
    count++;
  }
  const rate = count / ((performance.now() - startedMs) / 1000);
  closeSync(fd);
  rmSync(path);
  return rate;
}

function records(count: number, queueCount: number, startIndex: number): AppendInput[] {
  const body = Buffer.alloc(RECORD_BODY_BYTES, 0x63);
  return Array.from({ length: count }, (_, i) => ({
    topic: 'BenchTopic',
    queueId: (startIndex + i) % queueCount,
    tagHash: 0,
    flags: 0,
    bornTimestampMs: Date.now(),
    properties: new Map([['UNIQ_KEY', `msg-${startIndex + i}`]]),
    body,
  }));
}

interface AppendRun {
  recordsPerSecond: number;
  mbPerSecond: number;
  recordSizeBytes: number;
}

/** `appenders` concurrent loops, each appending `batchCount` records per call and awaiting it. */
async function appendRun(store: MessageStore, seconds: number, appenders: number, batchCount: number): Promise<AppendRun> {
  const before = store.stats();
  const endMs = performance.now() + seconds * 1000;
  const startedMs = performance.now();
  let appended = 0;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (performance.now() < endMs) {
        await store.append(records(batchCount, 8, appended));
        appended += batchCount;
      }
    }),
  );
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  const bytes = store.stats().confirmedLogOffset - before.confirmedLogOffset;
  return { recordsPerSecond: appended / elapsedSeconds, mbPerSecond: bytes / 1e6 / elapsedSeconds, recordSizeBytes: bytes / appended };
}

async function measureAppends(dir: string, flushMode: FlushMode, seconds: number, appenders: number, batchCount: number): Promise<AppendRun> {
  const dataDir = mkdtempSync(join(dir, `rmq-bench-${flushMode}-`));
  try {
    const store = await MessageStore.open({ dataDir, flushMode });
    await appendRun(store, Math.min(1, seconds / 5), appenders, batchCount); // warm-up
    const run = await appendRun(store, seconds, appenders, batchCount);
    await store.close();
    return run;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureRestart(dir: string, logMib: number): Promise<{ cleanMs: number; crashMs: number; records: number; replayed: number; fullScanMs: number }> {
  const dataDir = mkdtempSync(join(dir, 'rmq-bench-restart-'));
  try {
    let store = await MessageStore.open({ dataDir, flushMode: 'async' });
    let written = 0;
    while (store.stats().logEndOffset < logMib * MIB) {
      await Promise.all(Array.from({ length: 8 }, () => store.append(records(64, 8, written))));
      written += 8 * 64;
    }
    await store.close();
    let startedMs = performance.now();
    store = await MessageStore.open({ dataDir, flushMode: 'async' });
    const cleanMs = performance.now() - startedMs;
    assertEqual(store.queueList().reduce((sum, queue) => sum + queue.count, 0), written, "records after a clean restart");
    await store.close();
    // A crash right after a checkpoint: what a clean close leaves, plus the abort marker that
    // only a clean close removes, so recovery re-reads the newest segment.
    writeFileSync(join(dataDir, 'abort'), 'bench');
    const events: StoreEvent[] = [];
    startedMs = performance.now();
    const crashed = await MessageStore.open({ dataDir, flushMode: 'async', onEvent: (event) => events.push(event) });
    const crashMs = performance.now() - startedMs;
    const recovered = events.find((event) => event.kind === 'recovered');
    const replayed = recovered?.kind === 'recovered' ? recovered.report.recordsReplayed : 0;
    assertEqual(crashed.queueList().reduce((sum, queue) => sum + queue.count, 0), written, 'records after a crash');
    await crashed.close();
    // The worst case: no checkpoint and no queue files, so the whole log is read and checked.
    rmSync(join(dataDir, 'checkpoint.json'));
    rmSync(join(dataDir, 'consumequeue'), { recursive: true });
    writeFileSync(join(dataDir, 'abort'), 'bench');
    startedMs = performance.now();
    const rebuilt = await MessageStore.open({ dataDir, flushMode: 'async' });
    const fullScanMs = performance.now() - startedMs;
    assertEqual(rebuilt.queueList().reduce((sum, queue) => sum + queue.count, 0), written, 'records after a full rebuild');
    await rebuilt.close();
    return { cleanMs, crashMs, records: written, replayed, fullScanMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function assertEqual(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`${what}: ${actual}, expected ${expected}`);
}

const format = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(options.dir, 'rmq-store-bench-'));
  try {
    console.log(`store benchmark in ${dir}: 1 KiB bodies, ${options.seconds} s per phase`);
    const rawMBps = rawSequentialWriteMBps(dir, 1024);
    const rawFsyncs = rawFsyncsPerSecond(dir, Math.min(3, options.seconds));
    console.log(`raw disk: sequential write ${format(rawMBps)} MB/s (1 GiB, 1 MiB writes, one fdatasync); 4 KiB write+fdatasync ${format(rawFsyncs)}/s`);

    const rows: [string, AppendRun, string][] = [];
    const asyncSingle = await measureAppends(dir, 'async', options.seconds, 64, 1);
    rows.push(['async, 64 appenders x 1 record per call', asyncSingle, `${format(asyncSingle.mbPerSecond / rawMBps, 2)} of raw MB/s`]);
    const asyncBatched = await measureAppends(dir, 'async', options.seconds, 8, 32);
    rows.push(['async, 8 appenders x 32 records per call', asyncBatched, `${format(asyncBatched.mbPerSecond / rawMBps, 2)} of raw MB/s`]);
    const syncSingle = await measureAppends(dir, 'sync', options.seconds, 64, 1);
    rows.push(['sync, 64 appenders x 1 record per call', syncSingle, `${format(syncSingle.recordsPerSecond / rawFsyncs, 1)} x raw fsyncs/s`]);
    const syncBatched = await measureAppends(dir, 'sync', options.seconds, 8, 32);
    rows.push(['sync, 8 appenders x 32 records per call', syncBatched, `${format(syncBatched.recordsPerSecond / rawFsyncs, 1)} x raw fsyncs/s`]);
    for (const [name, run, ratio] of rows) {
      console.log(`${name.padEnd(42)} ${format(run.recordsPerSecond).padStart(9)} appends/s ${format(run.mbPerSecond, 1).padStart(7)} MB/s  (${ratio}; ${format(run.recordSizeBytes)} bytes per record)`);
    }

    const restart = await measureRestart(dir, options.restartMib);
    console.log(`restart with ${format(options.restartMib)} MiB of log (${format(restart.records)} records): after a clean stop ${format(restart.cleanMs)} ms; after a crash ${format(restart.crashMs)} ms (${format(restart.replayed)} records re-read); with no checkpoint and no queue files (every record re-read) ${format(restart.fullScanMs)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
