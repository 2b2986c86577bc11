// The main thread's CPU per fdatasync and per pwritev, by the way it is called: FileHandle.datasync()
// (promise machinery), fs.fdatasync(fd, cb) (callback), fs.fdatasyncSync (the main thread blocks),
// writevSync and FileHandle.writev. CPU is the main thread's own (schedstat of its task, ns) and the
// process's (getrusage: libuv's pool threads and io_uring's kernel workers too). `--busy N` keeps N worker threads spinning,
// as on a machine whose cores are taken. Each variant runs `--count` calls back to back, rounds alternate.
// Usage: node tools/perf/sync-cost.mjs [--dir /tmp] [--count 2000] [--rounds 3] [--busy 0] [--bytes 2300]
import { openSync, writeSync, closeSync, rmSync, mkdtempSync, fdatasync, fdatasyncSync, writevSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/tmp' }, count: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '3' }, busy: { type: 'string', default: '0' }, bytes: { type: 'string', default: '2300' }, only: { type: 'string' }, 'zero-chunk': { type: 'string', default: '1048576' } } });
const count = Number(values.count);
const size = Number(values.bytes);
const dir = mkdtempSync(join(values.dir, 'sync-cost-'));
const mainTask = `/proc/self/task/${process.pid}/schedstat`;
const threadCpuNs = () => Number(readFileSync(mainTask, 'utf8').split(' ')[0]);
const spinners = Array.from({ length: Number(values.busy) }, () => new Worker('for (;;) {}', { eval: true }));

const path = join(dir, 'segment');
const fd = openSync(path, 'w+');
// The file is zeroed ahead first (as zero-ahead.ts does); the size of those writes decides the page cache's folios.
const zeroChunk = Number(values['zero-chunk']);
const zeros = Buffer.alloc(Math.max(zeroChunk, 1));
for (let at = 0; zeroChunk > 0 && at < count * size * 2 + (1 << 20); at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
fdatasyncSync(fd);
const handle = await open(path, 'r+');
const body = [Buffer.alloc(size >> 1, 7), Buffer.alloc(size - (size >> 1), 8)];
let at = 0;
let writeMs = 0;
const timedWrite = () => {
  const t0 = performance.now();
  writevSync(handle.fd, body, nextPosition());
  writeMs += performance.now() - t0;
};
const nextPosition = () => (at = (at + size) % (count * size * 2));

const fdatasyncCallback = () => new Promise((resolve, reject) => fdatasync(handle.fd, (error) => (error ? reject(error) : resolve())));
const variants = {
  'FileHandle.datasync()': async () => { writevSync(handle.fd, body, nextPosition()); await handle.datasync(); },
  'fs.fdatasync(fd, cb)': async () => { writevSync(handle.fd, body, nextPosition()); await fdatasyncCallback(); },
  'writevSync (timed) + fs.fdatasync(fd, cb)': async () => { timedWrite(); await fdatasyncCallback(); },
  'fs.fdatasyncSync (blocks the loop)': async () => { writevSync(handle.fd, body, nextPosition()); fdatasyncSync(handle.fd); await null; },
  'writevSync alone (2 buffers)': async () => { writevSync(handle.fd, body, nextPosition()); await null; },
  'FileHandle.writev alone': async () => { await handle.writev(body, nextPosition()); },
  'nothing (the loop itself)': async () => { await null; },
};

if (values.only) for (const name of Object.keys(variants)) if (!values.only.split('|').includes(name)) delete variants[name];
const results = new Map(Object.keys(variants).map((name) => [name, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, call] of Object.entries(variants)) {
    const cpu0 = threadCpuNs();
    const process0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let i = 0; i < count; i++) await call();
    const wallMs = performance.now() - wall0;
    const processUsage = process.cpuUsage(process0);
    results.get(name).push({ cpuUs: (threadCpuNs() - cpu0) / 1000 / count, processUs: (processUsage.user + processUsage.system) / count, wallUs: (wallMs * 1000) / count });
  }
}
console.log(`main-thread CPU and wall time per call, ${count} calls x ${values.rounds} rounds, ${size} bytes per write, ${values.busy} spinning threads, zeroed ahead in writes of ${zeroChunk} bytes`);
if (results.has('writevSync (timed) + fs.fdatasync(fd, cb)')) console.log(`writevSync after an fdatasync: ${((writeMs * 1000) / count / Number(values.rounds)).toFixed(1)} µs per call (wall)`);
for (const [name, rounds] of results) {
  console.log(`${name.padEnd(38)} main thread CPU µs ${rounds.map((r) => r.cpuUs.toFixed(1).padStart(5)).join(' ')}   process ${rounds.map((r) => r.processUs.toFixed(0).padStart(4)).join(' ')}   wall µs ${rounds.map((r) => r.wallUs.toFixed(0).padStart(5)).join(' ')}`);
}
await handle.close();
closeSync(fd);
rmSync(dir, { recursive: true, force: true });
for (const worker of spinners) await worker.terminate();
