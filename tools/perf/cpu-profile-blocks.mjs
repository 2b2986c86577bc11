// The event loop's long tasks in a V8 .cpuprofile (node --cpu-prof; sample with --cpu-prof-interval 100 or
// finer): runs of consecutive busy samples under one entry from the native side (the same child of the root:
// a timer list, a libuv callback, the microtask queue; the GC's and the runtime's samples count for the task
// they interrupt), as long as --min ms or longer. Each is named by the deepest frame that holds most of its time
// (--share, default 0.6); printed grouped by that name (how many, ms in all, the longest), then the longest
// ones one by one with their frames. GC inside a task is shown apart: a scavenge lands in whatever ran.
// Usage: node tools/perf/cpu-profile-blocks.mjs <file.cpuprofile> [--min 2] [--share 0.6] [--top 25]
//   [--from S --to S] [--map bundle.js.map]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sourceLinesOf } from './source-map-lines.mjs';

const { values, positionals } = parseArgs({
  options: {
    min: { type: 'string', default: '2' },
    share: { type: 'string', default: '0.6' },
    top: { type: 'string', default: '25' },
    from: { type: 'string' },
    to: { type: 'string' },
    map: { type: 'string' },
  },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error('usage: node tools/perf/cpu-profile-blocks.mjs <file.cpuprofile> [--min ms] [--share 0.6] [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const minUs = Number(values.min) * 1000;
const share = Number(values.share);
const fromUs = values.from === undefined ? -Infinity : Number(values.from) * 1e6;
const toUs = values.to === undefined ? Infinity : Number(values.to) * 1e6;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const root = profile.nodes.find((node) => !parentOf.has(node.id));
const RUNTIME = new Set(['(program)', '(garbage collector)']);
const nameOf = (id) => byId.get(id).callFrame.functionName;

const bundles = new Map();
function label(id) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  let where = url;
  if (url.startsWith('file://') && /\/dist\/([^/]+\/)?main\.js$/.test(url)) {
    const path = fileURLToPath(url);
    if (!bundles.has(path)) bundles.set(path, sourceLinesOf(values.map ?? `${path}.map`));
    const source = bundles.get(path)?.[lineNumber];
    where = source?.match(/(libs|apps)\/[^/]+\/src\/[^:]+/)?.[0] ?? source ?? url;
  } else if (url.includes('node_modules/')) where = url.split('node_modules/').pop().split('/').slice(0, 2).join('/');
  return `${functionName || '(anonymous)'} ${where || 'native'}`;
}
/** The chain from the root's child down to the sampled node. */
function stackOf(id) {
  const stack = [];
  for (let at = id; at !== undefined && at !== root.id; at = parentOf.get(at)) stack.push(at);
  return stack.reverse();
}

// Cut the samples into tasks.
const tasks = [];
let current;
let atUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  atUs += profile.timeDeltas[i] ?? 0;
  const id = profile.samples[i];
  const dtUs = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
  const name = nameOf(id);
  if (name === '(idle)' || atUs < fromUs || atUs >= toUs) {
    current = undefined;
    continue;
  }
  if (RUNTIME.has(name)) {
    if (!current) tasks.push((current = { entry: undefined, startUs: atUs, us: 0, gcUs: 0, samples: [] }));
    current.us += dtUs;
    if (name === '(garbage collector)') current.gcUs += dtUs;
    continue;
  }
  const entry = stackOf(id)[0];
  if (!current || (current.entry !== undefined && current.entry !== entry)) tasks.push((current = { entry, startUs: atUs, us: 0, gcUs: 0, samples: [] }));
  current.entry = entry;
  current.us += dtUs;
  current.samples.push([id, dtUs]);
}

/** Inclusive time per frame within a task, and the deepest frame holding `share` of its JS time. */
function describe(task) {
  const inclusive = new Map();
  let jsUs = 0;
  for (const [id, dtUs] of task.samples) {
    jsUs += dtUs;
    for (const frame of new Set(stackOf(id).map(label))) inclusive.set(frame, (inclusive.get(frame) ?? 0) + dtUs);
  }
  let name = task.samples.length === 0 ? '(GC / runtime only)' : label(task.entry);
  let depth = 0;
  for (const [id] of task.samples) {
    const stack = stackOf(id);
    for (let d = 0; d < stack.length; d++) {
      const frame = label(stack[d]);
      if ((inclusive.get(frame) ?? 0) >= share * jsUs && d >= depth) {
        name = frame;
        depth = d;
      }
    }
  }
  return { name, inclusive, jsUs };
}

const long = tasks.filter((task) => task.us >= minUs).map((task) => ({ ...task, ...describe(task) }));
const busyUs = tasks.reduce((sum, task) => sum + task.us, 0);
console.log(`${tasks.length} tasks, ${(busyUs / 1000).toFixed(0)} ms busy; ${long.length} of ${values.min} ms or longer, ${(long.reduce((s, t) => s + t.us, 0) / 1000).toFixed(0)} ms in all (GC in them ${(long.reduce((s, t) => s + t.gcUs, 0) / 1000).toFixed(0)} ms)`);
const groups = new Map();
for (const task of long) {
  const group = groups.get(task.name) ?? { count: 0, us: 0, gcUs: 0, maxUs: 0 };
  group.count++;
  group.us += task.us;
  group.gcUs += task.gcUs;
  group.maxUs = Math.max(group.maxUs, task.us);
  groups.set(task.name, group);
}
console.log('\nby what holds most of the task (count, ms in all, of it GC, longest):');
for (const [name, group] of [...groups].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top))) {
  console.log(`  ${String(group.count).padStart(5)} ${(group.us / 1000).toFixed(1).padStart(8)} ms  GC ${(group.gcUs / 1000).toFixed(1).padStart(6)}  max ${(group.maxUs / 1000).toFixed(1).padStart(6)}  ${name}`);
}
console.log('\nthe longest:');
for (const task of [...long].sort((a, b) => b.us - a.us).slice(0, Math.min(12, Number(values.top)))) {
  console.log(`  at ${(task.startUs / 1e6).toFixed(3)} s: ${(task.us / 1000).toFixed(2)} ms (GC ${(task.gcUs / 1000).toFixed(2)}) ${task.name}`);
  const frames = [...task.inclusive].sort((a, b) => b[1] - a[1]).slice(0, 8);
  for (const [frame, us] of frames) console.log(`      ${(us / 1000).toFixed(2).padStart(7)} ms  ${frame}`);
}
