// Summarises a V8 .cpuprofile (node --cpu-prof): self time by category and by function, as a
// share of busy (non-idle) time. Usage: node tools/perf/cpu-profile-summary.mjs <file.cpuprofile> [--top 30]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '30' } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error('usage: node tools/perf/cpu-profile-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

/** Which bucket a frame's self time belongs to, from its script URL and name. */
function categoryOf(frame) {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'program (V8/native)';
  if (url.includes('@bufbuild/protobuf')) return '@bufbuild/protobuf';
  if (url.includes('@grpc/grpc-js')) return '@grpc/grpc-js';
  if (url.includes('node_modules/')) return 'other npm: ' + url.split('node_modules/').pop().split('/').slice(0, 2).join('/');
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
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
