// Summarises a V8 .heapprofile (node --heap-prof: sampled allocations over the whole run): bytes allocated
// by function (self) and with each function on the stack (inclusive), as a share of all sampled bytes;
// our bundles' frames are mapped back to their source files as cpu-profile-summary.mjs does.
// Usage: node tools/perf/heap-profile-summary.mjs <file.heapprofile> [--top 40] [--map bundle.js.map] [--per N: bytes per N calls]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sourceLinesOf } from './source-map-lines.mjs';

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '40' }, map: { type: 'string' }, per: { type: 'string' } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error('usage: node tools/perf/heap-profile-summary.mjs <file.heapprofile> [--top N] [--map file] [--per calls]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const bundles = new Map();
function where(frame) {
  const { url, lineNumber } = frame;
  if (/\/dist\/([^/]+\/)?main\.js$|\/\.cache\/rmq-run\/[^/]+\.cjs$/.test(url)) { // app bundles, and tools/run-ts.mjs' bundles
    const path = url.startsWith('file://') ? fileURLToPath(url) : url; // heap profiles give plain paths
    if (!bundles.has(path)) bundles.set(path, sourceLinesOf(values.map ?? `${path}.map`));
    const source = bundles.get(path)?.[lineNumber];
    if (source) return source.match(/(libs|apps)\/[^/]+\/src\/[^:]+/)?.[0] ?? source;
  }
  if (url.includes('node_modules/')) return url.split('node_modules/').pop().split('/').slice(0, 2).join('/');
  return url.startsWith('node:') ? url : url || 'native';
}

const self = new Map();
const inclusive = new Map();
let total = 0;
function walk(node, stack) {
  const key = `${node.callFrame.functionName || '(anonymous)'} ${where(node.callFrame)}:${node.callFrame.lineNumber + 1}`;
  const onStack = stack.includes(key) ? stack : [...stack, key];
  let subtree = node.selfSize;
  if (node.selfSize) self.set(key, (self.get(key) ?? 0) + node.selfSize);
  for (const child of node.children ?? []) subtree += walk(child, onStack);
  if (!stack.includes(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + subtree);
  return subtree;
}
total = walk(profile.head, []);
const per = values.per ? Number(values.per) : 0;
const fmt = (bytes) => `${((100 * bytes) / total).toFixed(1).padStart(5)}%${per ? `  ${(bytes / per).toFixed(0).padStart(6)} B/call` : ''}`;
console.log(`sampled allocations: ${(total / 1e6).toFixed(1)} MB${per ? ` (${(total / per).toFixed(0)} B per call over ${per} calls)` : ''}`);
console.log('\nallocated by function (self):');
for (const [key, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${fmt(bytes)}  ${key}`);
console.log('\nallocated with the function on the stack (inclusive):');
for (const [key, bytes] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${fmt(bytes)}  ${key}`);
