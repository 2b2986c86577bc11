// A --require preload: the inspector's sampling heap profiler in the process it is loaded into, the profile
// written when the process exits (for tools/perf/heap-profile-summary.mjs). Unlike node's --heap-prof it can
// keep the samples of objects that were collected: HEAP_SAMPLE_KEEP=survivors (default) keeps what a scavenge
// did not collect: promoted objects, and what is live at the end (two scavenges at exit drop the young garbage
// first). A mark-compact also collects the young generation's garbage, and those samples stay: run the process
// with --initial-old-space-size=512 (no mark-compact in a short run) for what was promoted alone.
// HEAP_SAMPLE_KEEP=all keeps everything allocated (bytes allocated per call).
// HEAP_SAMPLE_OUT: the file (%p = pid; default /tmp/heap-%p.heapprofile); HEAP_SAMPLE_AFTER_MS: start that
// late (default 2000: after startup); HEAP_SAMPLE_INTERVAL: mean bytes between samples (default 4096).
// Usage: NODE_FLAGS="--require $PWD/tools/perf/heap-sample-preload.cjs" tools/perf/ab-run.sh ...
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

const out = (process.env.HEAP_SAMPLE_OUT || '/tmp/heap-%p.heapprofile').replace('%p', String(process.pid));
const keepAll = process.env.HEAP_SAMPLE_KEEP === 'all';
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const session = new Session();
session.connect();
let started = false;
setTimeout(() => {
  session.post('HeapProfiler.startSampling', {
    samplingInterval: Number(process.env.HEAP_SAMPLE_INTERVAL || 4096),
    includeObjectsCollectedByMinorGC: keepAll,
    includeObjectsCollectedByMajorGC: true,
  }, (error) => { started = !error; });
}, Number(process.env.HEAP_SAMPLE_AFTER_MS || 2000)).unref();
process.on('exit', () => {
  if (!started) return;
  if (!keepAll) for (let i = 0; i < 2; i++) gc({ type: 'minor' });
  // The session's callbacks run synchronously on the main thread, so this completes before the exit.
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) writeFileSync(out, JSON.stringify(result.profile));
  });
});
