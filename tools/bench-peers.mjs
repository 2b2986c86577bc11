// npm run bench:peers (not in CI; about 15-25 min): the peers of shared/docs/performance.md (NATS
// JetStream, Redis Streams, RabbitMQ quorum and stream queues), our broker in sync and async mode
// (peerbench's rocketmq-raw adapter, and its official-client adapter in sync mode), the bare grpc-js
// unary ceiling (peerbench's client, and the official client's own calls through tools/perf/call-cost.mjs against a
// bare grpc-js server and against our broker) and `rmq bench` with 1 and 1,000 topics, all in one run on this machine, then the
// ratios of issue 15's targets. Needs root the first time (peerbench's setup.sh apt-gets the peers).
//
//   node tools/bench-peers.mjs [--runs 1] [--count 200000] [--peers nats-async,redis,rabbitmq-quorum,rabbitmq-stream]
//                              [--peerbench /work/shared/peerbench] [--out <dir>] [--skip-peers] [--skip-official]
//                              [--ours raw-sync,raw-async,official-sync,raw-replicated,topics] [--skip-ceiling]
// raw-replicated: produce only, against a master with one in-sync slave (both sync; no name server), the
// slave's CPU beside the master's.
//   node tools/bench-peers.mjs --report <dir>     the table and ratios again, from the results a run left in <dir>
//
// peerbench is copied to <out>/peerbench (it writes node_modules/ and results/ beside itself); every
// JSON result and the final table (report.md) land in <out> (default: the OS temp folder).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    count: { type: 'string', default: '200000' },
    peers: { type: 'string', default: 'nats-async,redis,rabbitmq-quorum,rabbitmq-stream' },
    peerbench: { type: 'string', default: existsSync('/work/shared/peerbench') ? '/work/shared/peerbench' : join(root, '../shared/peerbench') },
    out: { type: 'string' },
    'skip-peers': { type: 'boolean', default: false },
    'skip-official': { type: 'boolean', default: false },
    ours: { type: 'string', default: 'raw-sync,raw-async,official-sync,raw-replicated,topics' },
    'skip-ceiling': { type: 'boolean', default: false },
    report: { type: 'string' },
  },
});
if (!existsSync(join(options.peerbench, 'run.mjs'))) {
  console.error(`bench:peers: no peerbench at ${options.peerbench} (give --peerbench <dir>)`);
  process.exit(2);
}
const out = resolve(options.report ?? options.out ?? mkdtempSync(join(tmpdir(), 'rmq-bench-peers-')));
const pb = join(out, 'peerbench');
const runs = options.runs;
const count = options.count;
const READY_TIMEOUT_MS = 30_000;
const log = (text) => console.log(`[bench:peers] ${text}`);

const failures = [];

function run(command, args, extra = {}) {
  log(`${command} ${args.join(' ')}`);
  execFileSync(command, args, { stdio: 'inherit', ...extra });
}

/** A measurement that may fail (a system that errs under load): noted, and the run goes on to the table. */
function measureStep(what, fn) {
  try {
    return fn();
  } catch (error) {
    failures.push(`${what}: ${error.message.split('\n')[0]}`);
    log(`${what} failed; going on (its figures show as n/a)`);
    return undefined;
  }
}

/**
 * Starts a broker with a fresh data folder; resolves to { pid, endpoint, stop() } once it logs
 * `readyMessage` ("ready"; a replicated master: its slave joining the in-sync set).
 */
async function startBroker(flushMode, port, extraArgs = [], readyMessage = '"msg":"ready"') {
  const dataDir = join(out, `broker-${flushMode}-${port}`);
  rmSync(dataDir, { recursive: true, force: true });
  const child = spawn(process.execPath, [join(root, 'apps/broker/dist/main.js'), '--listen', `127.0.0.1:${port}`, '--http-listen', '127.0.0.1:0',
    '--data-dir', dataDir, '--name-servers', '', '--auto-create-topics', '--flush-mode', flushMode, ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolveReady, rejectReady) => {
    const timer = setTimeout(() => rejectReady(new Error(`the ${flushMode} broker on ${port} did not log ${readyMessage} within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      if (buffered.includes(readyMessage)) {
        clearTimeout(timer);
        resolveReady();
      }
      if (buffered.length > 1 << 16) buffered = buffered.slice(-1024);
    });
    child.once('exit', (code) => rejectReady(new Error(`the ${flushMode} broker exited (code ${code}) before it was ready`)));
  });
  child.stdout.resume();
  return {
    pid: child.pid,
    endpoint: `127.0.0.1:${port}`,
    child,
    stop: () => new Promise((done) => {
      child.once('exit', done);
      child.kill('SIGTERM');
    }),
  };
}

const readJson = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
const median = (s) => (s && s.n ? s.median : NaN);
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

/** Broker CPU µs per message of a phase, median over runs (server CPU% x seconds / messages). */
function cpuUsPerMessage(result, phase) {
  const values = (result?.runs?.[phase] ?? []).map((r) => ((r.serverCpuPct / 100) * r.secs * 1e6) / r.msgs).filter(Number.isFinite).sort((a, b) => a - b);
  return values.length ? values[values.length >> 1] : NaN;
}

async function main() {
  if (!options.report) await measure();
  report();
}

async function measure() {
  mkdirSync(out, { recursive: true });
  rmSync(pb, { recursive: true, force: true });
  cpSync(options.peerbench, pb, { recursive: true, filter: (source) => !/\/(node_modules|results)(\/|$)/.test(source) });
  run('bash', [join(pb, 'setup.sh')], { cwd: pb });
  run(process.execPath, [join(root, 'tools/build-apps.mjs'), 'broker', 'cli']);
  const common = ['--runs', runs, '--count', count];

  // 1. The peers, each started fresh and stopped after (peerbench's all.sh), and the grpc-js ceiling.
  if (!options['skip-peers']) {
    measureStep('peers', () => run('bash', [join(pb, 'all.sh'), ...common], { cwd: pb, env: { ...process.env, SYSTEMS: options.peers.split(',').join(' '), LIMITS: '0' } }));
  }
  if (!options['skip-ceiling']) {
    measureStep('grpc-js ceiling', () => run(process.execPath, [join(pb, 'limits/run.mjs'), '--only', 'grpc', '--runs', runs, '--out', join(out, 'limits-grpc.json')], { cwd: pb }));
    // The same ceiling with the official client's own calls (its stubs and headers), against a bare grpc-js
    // server and against our broker: peerbench's ceiling client is lighter than the official one.
    for (const [key, target] of [['bare', ['--target', 'bare']], ['ours', ['--broker', join(root, 'apps/broker/dist/main.js')]]]) {
      const output = measureStep(`official client's calls against ${key}`, () => execFileSync(process.execPath, [join(root, 'tools/perf/call-cost.mjs'), ...target, '--phases', 'send,ack'],
        { encoding: 'utf8', env: { ...process.env, CALL_COST_JSON: '1' }, stdio: ['ignore', 'pipe', 'inherit'] }));
      if (output) writeFileSync(join(out, `call-cost-${key}.json`), output.trimEnd().split('\n').at(-1));
    }
  }

  // 2. Our broker: rocketmq-raw in sync and async mode, the official client in sync mode, rmq bench with 1 and 1,000 topics.
  const ours = new Set(options.ours.split(','));
  for (const [key, flushMode, system] of [['raw-sync', 'sync', 'rocketmq-raw'], ['raw-async', 'async', 'rocketmq-raw'], ['official-sync', 'sync', 'rocketmq']]) {
    if (!ours.has(key) || (key === 'official-sync' && options['skip-official'])) continue;
    const broker = await startBroker(flushMode, 18481);
    try {
      const file = join(out, `ours-${key}.json`);
      // The official client sends one message per call: fewer messages keep its runs within peerbench's caps.
      const extra = system === 'rocketmq' ? ['--count', String(Math.min(Number(count), 50_000))] : [];
      measureStep(`ours ${key}`, () => run(process.execPath, [join(pb, 'run.mjs'), '--system', system, '--url', broker.endpoint, '--server-pid', String(broker.pid), '--out', file, ...common, ...extra], { cwd: pb }));
    } finally {
      await broker.stop();
    }
  }
  if (ours.has('raw-replicated')) await measureReplicated(common);
  if (ours.has('topics')) {
    const broker = await startBroker('sync', 18482);
    try {
      for (const topics of [1, 1000]) {
        const json = measureStep(`rmq bench --topics ${topics}`, () => execFileSync(process.execPath, [join(root, 'apps/cli/bin/rmq.js'), 'bench', 'produce', '--broker', broker.endpoint,
          '--broker-pid', String(broker.pid), '--count', String(Math.min(Number(count), 100_000)), '--topics', String(topics), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
        if (json) writeFileSync(join(out, `ours-topics-${topics}.json`), json);
      }
    } finally {
      await broker.stop();
    }
  }

}

/** CPU seconds a process used so far (utime + stime of /proc/<pid>/stat, in clock ticks of 100 Hz). */
function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Produce (rocketmq-raw, sync) against a master whose one slave is in its in-sync set: every send is answered after both fdatasyncs. */
async function measureReplicated(common) {
  const master = await startBroker('sync', 18483, ['--role', 'master', '--epoch', '1', '--broker-name', 'bench-a', '--broker-id', '0']);
  let slave;
  try {
    const joined = new Promise((resolveJoined) => master.child.stdout.on('data', (chunk) => String(chunk).includes('slave joined the in-sync set') && resolveJoined()));
    slave = await startBroker('sync', 18484, ['--role', 'slave', '--master', master.endpoint, '--broker-name', 'bench-a', '--broker-id', '1']);
    await Promise.race([joined, new Promise((_, rejectJoin) => setTimeout(() => rejectJoin(new Error('the slave did not join the in-sync set within 30 s')), READY_TIMEOUT_MS))]);
    const file = join(out, 'ours-raw-replicated.json');
    const slaveCpuBefore = cpuSecondsOf(slave.pid);
    measureStep('ours raw-replicated', () => run(process.execPath, [join(pb, 'run.mjs'), '--system', 'rocketmq-raw', '--url', master.endpoint, '--server-pid', String(master.pid), '--out', file, '--tests', 'produce', ...common], { cwd: pb }));
    const result = readJson(file);
    if (result) {
      result.slaveCpuSeconds = cpuSecondsOf(slave.pid) - slaveCpuBefore; // over setup, every run and teardown
      writeFileSync(file, JSON.stringify(result, null, 2));
    }
  } catch (error) {
    failures.push(`ours raw-replicated: ${error.message}`);
  } finally {
    await slave?.stop();
    await master.stop();
  }
}

/** 3. The table and the ratios, from the JSON results in `out`. */
function report() {
  const ours = Object.fromEntries(['raw-sync', 'raw-async', 'official-sync', 'raw-replicated'].map((key) => [key, readJson(join(out, `ours-${key}.json`))]));
  const topicRuns = Object.fromEntries([1, 1000].map((topics) => [topics, readJson(join(out, `ours-topics-${topics}.json`))?.results[0]]));
  const peers = Object.fromEntries(options.peers.split(',').map((name) => [name, readJson(join(pb, 'results', `${name}.json`))]));
  const grpc = readJson(join(out, 'limits-grpc.json'))?.grpc;
  const ceiling = median(grpc?.['send-1k-c64']?.msgsPerSec);
  const callCost = { bare: readJson(join(out, 'call-cost-bare.json')), ours: readJson(join(out, 'call-cost-ours.json')) };
  const row = (name, r) => {
    const s = r?.summary;
    return `| ${name} | ${fmt(median(s?.produceMsgsPerSec))} | ${fmt(median(s?.consumeMsgsPerSec))} | ${fmt(median(s?.latP50), 2)} / ${fmt(median(s?.latP99), 2)} / ${fmt(median(s?.latP999), 1)} | ${fmt(cpuUsPerMessage(r, 'produce'), 1)} / ${fmt(cpuUsPerMessage(r, 'consume'), 1)} |`;
  };
  const lines = [
    `## bench:peers, ${new Date().toISOString()}: ${runs} run(s), 1 KiB, ${fmt(Number(count))} messages, e2e at 2,000 msg/s`,
    '',
    '| system | produce msg/s | consume msg/s | e2e p50 / p99 / p99.9 ms | server CPU µs/msg produce / consume |',
    '|---|---|---|---|---|',
    ...Object.entries(peers).map(([name, r]) => row(name, r)),
    row('ours, rocketmq-raw, sync', ours['raw-sync']),
    row('ours, rocketmq-raw, async', ours['raw-async']),
    ...(ours['official-sync'] ? [row('ours, official client, sync', ours['official-sync'])] : []),
    ...(ours['raw-replicated'] ? [row('ours, rocketmq-raw, sync, master + 1 in-sync slave (produce only; master CPU)', ours['raw-replicated'])] : []),
    `| bare grpc-js unary, one 1 KiB message per call, 64 in flight | ${fmt(ceiling)} | | | |`,
    ...(callCost.bare && callCost.ours
      ? [`| official client's calls (its stubs and headers, 64 in flight), calls/s: bare grpc-js / ours | send ${fmt(callCost.bare.send?.callsPerSec)} / ${fmt(callCost.ours.send?.callsPerSec)} | ack ${fmt(callCost.bare.ack?.callsPerSec)} / ${fmt(callCost.ours.ack?.callsPerSec)} | | server µs/call, send: ${fmt(callCost.bare.send?.serverUsPerCall, 1)} / ${fmt(callCost.ours.send?.serverUsPerCall, 1)}; ack: ${fmt(callCost.bare.ack?.serverUsPerCall, 1)} / ${fmt(callCost.ours.ack?.serverUsPerCall, 1)} |`]
      : []),
    `| ours, rmq bench produce, sync, 1 topic / 1,000 topics | ${fmt(topicRuns[1]?.messagesPerSecond)} / ${fmt(topicRuns[1000]?.messagesPerSecond)} | | | |`,
    '',
  ];
  const p = (r, key) => median(r?.summary?.[key]);
  const targets = [
    ['produce async ≥ 1.5× NATS JetStream async publish', p(ours['raw-async'], 'produceMsgsPerSec') / p(peers['nats-async'], 'produceMsgsPerSec'), 1.5, 'ratio'],
    ['produce sync ≥ 3× RabbitMQ quorum', p(ours['raw-sync'], 'produceMsgsPerSec') / p(peers['rabbitmq-quorum'], 'produceMsgsPerSec'), 3, 'ratio'],
    ['consume ≥ 1.2× NATS JetStream', p(ours['raw-sync'], 'consumeMsgsPerSec') / p(peers['nats-async'], 'consumeMsgsPerSec'), 1.2, 'ratio'],
    ['e2e p99 at 2,000 msg/s, sync ≤ 3 ms', p(ours['raw-sync'], 'latP99'), 3, 'max'],
    ['broker CPU per message produced ≤ 8 µs (sync)', cpuUsPerMessage(ours['raw-sync'], 'produce'), 8, 'max'],
    ['broker CPU per message consumed ≤ 8 µs (sync, acks included)', cpuUsPerMessage(ours['raw-sync'], 'consume'), 8, 'max'],
    ['official client produce ≥ 80% of the grpc-js unary ceiling', p(ours['official-sync'], 'produceMsgsPerSec') / ceiling, 0.8, 'ratio'],
    ['official client consume ≥ 80% of the grpc-js unary ceiling', p(ours['official-sync'], 'consumeMsgsPerSec') / ceiling, 0.8, 'ratio'],
    ['(information) official client\'s SendMessage calls against ours / against bare grpc-js, same client', callCost.ours?.send?.callsPerSec / callCost.bare?.send?.callsPerSec, 0, 'info'],
    ['(information) official client\'s AckMessage calls against ours / against bare grpc-js, same client', callCost.ours?.ack?.callsPerSec / callCost.bare?.ack?.callsPerSec, 0, 'info'],
    ['1,000 topics ≥ 90% of the single-topic produce rate', topicRuns[1000]?.messagesPerSecond / topicRuns[1]?.messagesPerSecond, 0.9, 'ratio'],
    ['produce with one in-sync slave ≥ 2× RabbitMQ quorum', p(ours['raw-replicated'], 'produceMsgsPerSec') / p(peers['rabbitmq-quorum'], 'produceMsgsPerSec'), 2, 'ratio'],
    ['(information) produce with one in-sync slave / single broker, both sync', p(ours['raw-replicated'], 'produceMsgsPerSec') / p(ours['raw-sync'], 'produceMsgsPerSec'), 0, 'info'],
  ];
  lines.push('| target | measured | met |', '|---|---|---|');
  for (const [name, value, bound, kind] of targets) {
    const met = !Number.isFinite(value) ? 'not measured' : kind === 'info' ? '—' : (kind === 'max' ? value <= bound : value >= bound) ? 'yes' : 'no';
    lines.push(`| ${name} | ${fmt(value, 2)}${kind === 'max' ? '' : '×'} | ${met} |`);
  }
  const replicated = ours['raw-replicated'];
  if (replicated?.slaveCpuSeconds !== undefined) {
    const messages = (replicated.runs?.produce ?? []).reduce((sum, r) => sum + r.msgs, 0);
    lines.push('', `Replicated run: the slave used ${fmt(replicated.slaveCpuSeconds, 1)} CPU s (${fmt((replicated.slaveCpuSeconds * 1e6) / messages, 1)} µs per message produced, setup included).`);
  }
  lines.push('', `Load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (${cpus().length} CPUs).`);
  if (failures.length > 0) lines.push('', 'Failed measurements (their figures show as n/a):', ...failures.map((failure) => `- ${failure}`));
  const report = lines.join('\n');
  writeFileSync(join(out, 'report.md'), report + '\n');
  console.log(`\n${report}\n\n(results and report.md in ${out})`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`bench:peers failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
