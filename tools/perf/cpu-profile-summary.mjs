// Summarises a V8 .cpuprofile (node --cpu-prof): self time by category and by function, as a
// share of busy (non-idle) time. Usage: node tools/perf/cpu-profile-summary.mjs <file.cpuprofile> [--top 30]
// [--from S --to S: only samples in that window, seconds from the profile's start] [--timeline: busy ms per second,
// to find the phases] [--inclusive: time with each function on the stack, callees included]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sourceLinesOf } from './source-map-lines.mjs';

const { values, positionals } = parseArgs({
  options: {
    top: { type: 'string', default: '30' },
    map: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    timeline: { type: 'boolean', default: false },
    inclusive: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error('usage: node tools/perf/cpu-profile-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
const fromUs = values.from === undefined ? -Infinity : Number(values.from) * 1e6;
const toUs = values.to === undefined ? Infinity : Number(values.to) * 1e6;
const busyPerSecond = [];
const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
let atUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  const deltaUs = profile.timeDeltas[i] ?? 0;
  atUs += deltaUs;
  if (!idleIds.has(id)) busyPerSecond[Math.floor(atUs / 1e6)] = (busyPerSecond[Math.floor(atUs / 1e6)] ?? 0) + deltaUs;
  if (atUs < fromUs || atUs >= toUs) continue;
  selfUs.set(id, (selfUs.get(id) ?? 0) + deltaUs);
}
if (values.timeline) {
  console.log('busy ms per second of the profile:');
  console.log(Array.from(busyPerSecond, (us, second) => `${second}s:${Math.round((us ?? 0) / 1000)}`).join(' '));
}


const bundles = new Map();
function sourceOf(url, lineNumber) {
  if (!url.startsWith('file://') || !/\/dist\/([^/]+\/)?main\.js$/.test(url)) return undefined; // our app bundles only (dist/<name>/main.js: copies for a before/after)
  const path = fileURLToPath(url);
  if (!bundles.has(path)) bundles.set(path, sourceLinesOf(values.map ?? `${path}.map`));
  return bundles.get(path)?.[lineNumber];
}

/** Which bucket a frame's self time belongs to, from its script URL (source-mapped) and name. */
function categoryOf(frame) {
  const { functionName } = frame;
  const url = sourceOf(frame.url, frame.lineNumber) ?? frame.url;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'program (V8/native)';
  if (url.includes('@bufbuild/protobuf')) return '@bufbuild/protobuf';
  if (url.includes('@grpc/grpc-js')) return '@grpc/grpc-js';
  if (url.includes('node_modules/')) return 'other npm: ' + url.split('node_modules/').pop().split('/').slice(0, 2).join('/');
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url === '') return `native: ${functionName || '(anonymous)'}`;
  const src = url.match(/(libs|apps)\/[^/]+\/src\/[^:]+/);
  return src ? src[0] : url.split('/').slice(-2).join('/');
}

const categories = new Map();
const functions = new Map();
let busy = 0;
let total = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id).callFrame;
  const category = categoryOf(frame);
  total += us;
  if (category === 'idle') continue;
  busy += us;
  categories.set(category, (categories.get(category) ?? 0) + us);
  const key = `${frame.functionName || '(anonymous)'} ${category}:${frame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
}
const top = Number(values.top);
const pct = (us) => ((100 * us) / busy).toFixed(1).padStart(5) + '%';
console.log(`profile: ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%)`);
console.log('\nself time by category (share of busy):');
for (const [name, us] of [...categories].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);
console.log('\nself time by function:');
for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);

if (values.inclusive) {
  // Time with each function anywhere on the stack (once per sample, however deep it recurs).
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    if (idleIds.has(id)) continue;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at).callFrame;
      const key = `${frame.functionName || '(anonymous)'} ${categoryOf(frame)}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  console.log('\ntime with the function on the stack (callees included):');
  for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${name}`);
}
