// The disk's floor for a group commit: append 1-8 KiB to a preallocated file, then fdatasync, N times;
// prints p50/p90/p99/max of the fdatasync alone and of append + fdatasync, for the synchronous call
// (the cost the disk sets) and for the thread-pool call the broker makes (what the event loop sees).
// Two file layouts: `grow` (appends past the end, as the broker's segments: every fdatasync also
// commits the new file size and block allocation through the filesystem's journal) and `zeroed`
// (the range written with zeros and synced first: fdatasync then flushes data only).
// Usage: node tools/perf/fsync-floor.mjs [--dir /tmp] [--count 2000] [--bytes 1024,4096,8192] [--gap-ms 0]
import { openSync, writeSync, fdatasyncSync, closeSync, rmSync, mkdtempSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/tmp' }, count: { type: 'string', default: '2000' }, bytes: { type: 'string', default: '1024,4096,8192' }, 'gap-ms': { type: 'string', default: '0' }, layout: { type: 'string', default: 'grow,zeroed' } } });
const count = Number(values.count);
const gapMs = Number(values['gap-ms']);
const sizes = values.bytes.split(',').map(Number);
const layouts = values.layout.split(',');
const dir = mkdtempSync(join(values.dir, 'fsync-floor-'));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
const line = (label, samples) => {
  const s = Float64Array.from(samples).sort();
  return `${label.padEnd(42)} p50 ${pct(s, 50).toFixed(3)} p90 ${pct(s, 90).toFixed(3)} p99 ${pct(s, 99).toFixed(3)} max ${s[s.length - 1].toFixed(3)} ms`;
};
const pause = () => (gapMs > 0 ? new Promise((r) => setTimeout(r, gapMs)) : undefined);

try {
  for (const layout of layouts) for (const size of sizes) {
    const body = Buffer.alloc(size, 7);
    // Synchronous: the disk's own time.
    const path = join(dir, `sync-${size}`);
    const fd = openSync(path, 'w');
    if (layout === 'zeroed') {
      const zeros = Buffer.alloc(1 << 20);
      for (let at = 0; at < count * size + 4096; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
    }
    fdatasyncSync(fd);
    const syncOnly = [], both = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      writeSync(fd, body, 0, size, i * size);
      const t1 = performance.now();
      fdatasyncSync(fd);
      const t2 = performance.now();
      syncOnly.push(t2 - t1);
      both.push(t2 - t0);
      await pause();
    }
    closeSync(fd);
    console.log(line(`${layout} ${size} B, sync API: fdatasync`, syncOnly));
    console.log(line(`${layout} ${size} B, sync API: write+fdatasync`, both));
    // Thread pool (FileHandle), as the broker does it.
    const handle = await open(join(dir, `async-${size}`), 'w');
    if (layout === 'zeroed') {
      const zeros = Buffer.alloc(1 << 20);
      for (let at = 0; at < count * size + 4096; at += zeros.length) await handle.write(zeros, 0, zeros.length, at);
    }
    await handle.datasync();
    const poolSync = [], poolBoth = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await handle.write(body, 0, size, i * size);
      const t1 = performance.now();
      await handle.datasync();
      const t2 = performance.now();
      poolSync.push(t2 - t1);
      poolBoth.push(t2 - t0);
      await pause();
    }
    await handle.close();
    console.log(line(`${layout} ${size} B, thread pool: fdatasync`, poolSync));
    console.log(line(`${layout} ${size} B, thread pool: write+fdatasync`, poolBoth));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
