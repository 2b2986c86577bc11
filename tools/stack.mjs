// The local stack (`npm start`): builds the apps, starts name server, replication controller, one
// broker group of a master and a slave (broker-a, broker ids 0 and 1; the controller decides who
// is master) and metrics as child processes on the default ports, prints where to connect (the
// access point is the name server), restarts a broker that dies (it comes back as a slave), and
// on Ctrl-C or SIGTERM stops them in order (metrics, replication, brokers, name server last),
// each with a bounded wait. Every app's full log goes to <data>/logs/<app>.log; the terminal shows
// warnings, errors and anything an app writes to stderr.
//
//   node tools/stack.mjs [--data-dir ./data] [--broker 127.0.0.1:8081] [--verbose] ...
//   every address flag also reads RMQ_STACK_<FLAG>, e.g. RMQ_STACK_BROKER=127.0.0.1:8091
//
// Children run in their own process groups so that Ctrl-C reaches only this script, which then
// stops them in order. If this script is SIGKILLed, they keep running: stop them by pid.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApps } from './build-apps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
/** A broker that died is started again after this long (it comes back as a slave)... */
const RESTART_DELAY_MS = 1_000;
/** ...unless it died this many times in a row within RESTART_WINDOW_MS of its start: then the stack stops. */
const RESTARTS_IN_A_ROW_MAX = 5;
const RESTART_WINDOW_MS = 10_000;

const ADDRESSES = {
  'name-server': '127.0.0.1:9876',
  'name-server-http': '127.0.0.1:9877',
  replication: '127.0.0.1:9878',
  'replication-http': '127.0.0.1:9879',
  broker: '127.0.0.1:8081',
  'broker-http': '127.0.0.1:5557',
  'broker-1': '127.0.0.1:8082',
  'broker-1-http': '127.0.0.1:5558',
  'metrics-http': '127.0.0.1:7070',
};

const USAGE = `Usage: npm start -- [options]     (or node tools/stack.mjs [options])

Starts a local rmq cluster: name server, replication controller, broker group broker-a (a master
and a slave; --replicas 1 for one broker), metrics. Clients connect to the name server.

Options:
${[
  ['--data-dir <dir>', 'where the apps keep data and logs (default ./data; env RMQ_STACK_DATA_DIR)'],
  ['--verbose', 'print every log line, not only warnings and errors (env RMQ_STACK_VERBOSE=1)'],
  ['--replicas <1|2>', 'brokers in the broker-a group (default 2; env RMQ_STACK_REPLICAS)'],
  ...Object.entries(ADDRESSES).map(([flag, value]) => [`--${flag} <host:port>`, `default ${value} (env ${envName(flag)})`]),
  ['-h, --help', 'show this help'],
]
  .map(([flag, help]) => `  ${flag.padEnd(32)}${help}`)
  .join('\n')}`;

function envName(flag) {
  return `RMQ_STACK_${flag.replace(/-/g, '_').toUpperCase()}`;
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      verbose: { type: 'boolean' },
      replicas: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(Object.keys(ADDRESSES).map((flag) => [flag, { type: 'string' }])),
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const address = (flag) => {
    const value = values[flag] ?? process.env[envName(flag)] ?? ADDRESSES[flag];
    if (!/^.+:\d{1,5}$/.test(value)) throw new Error(`--${flag} must look like host:port, got "${value}"`);
    return value;
  };
  const replicas = values.replicas ?? process.env.RMQ_STACK_REPLICAS ?? '2';
  if (replicas !== '1' && replicas !== '2') throw new Error(`--replicas must be 1 or 2, got "${replicas}"`);
  return {
    replicas: Number(replicas),
    dataDir: resolve(values['data-dir'] ?? process.env.RMQ_STACK_DATA_DIR ?? 'data'),
    verbose: values.verbose ?? process.env.RMQ_STACK_VERBOSE === '1',
    addresses: Object.fromEntries(Object.keys(ADDRESSES).map((flag) => [flag, address(flag)])),
  };
}

/** Why `host:port` cannot be listened on now (an error code such as EADDRINUSE), or undefined. */
function listenProblem(address) {
  const at = address.lastIndexOf(':');
  const [host, port] = [address.slice(0, at), Number(address.slice(at + 1))];
  return new Promise((resolveProblem) => {
    const server = createServer();
    server.once('error', (error) => resolveProblem(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolveProblem(undefined)));
  });
}

/**
 * Every address the stack would listen on that it cannot (taken by another program or another
 * stack, or named twice), each with its flag and variable: said before anything starts, rather
 * than as a stack trace of the first app that fails to bind.
 */
async function addressProblems({ replicas, addresses }) {
  const problems = [];
  const flagOf = new Map();
  for (const [flag, address] of Object.entries(addresses)) {
    if (replicas < 2 && flag.startsWith('broker-1')) continue;
    const named = `--${flag} / ${envName(flag)}`;
    if (!address.endsWith(':0') && flagOf.has(address)) problems.push({ flag, text: `${address} is given twice: to --${flagOf.get(address)} and to ${named}` });
    flagOf.set(address, flag);
    const code = await listenProblem(address);
    if (code === 'EADDRINUSE') problems.push({ flag, text: `${address} (${named}) is in use by another program, perhaps another rmq stack` });
    else if (code) problems.push({ flag, text: `cannot listen on ${address} (${named}): ${code}` });
  }
  return problems;
}

/** The apps in start order; they are stopped in `stopOrder`. Brokers are restarted when they die. */
function appsOf({ dataDir, replicas, addresses: a }) {
  const broker = (brokerId, listen, httpListen) => ({
    name: 'broker',
    label: `broker-a-${brokerId}`,
    restartable: true,
    args: [
      '--listen', listen, '--http-listen', httpListen, '--data-dir', join(dataDir, `broker-a-${brokerId}`),
      '--name-servers', a['name-server'], '--controller', a.replication, '--cluster-name', 'DefaultCluster', '--broker-name', 'broker-a',
      '--broker-id', String(brokerId),
    ],
  });
  return [
    { name: 'name-server', args: ['--listen', a['name-server'], '--http-listen', a['name-server-http']] },
    { name: 'replication', args: ['--listen', a.replication, '--http-listen', a['replication-http'], '--data-dir', join(dataDir, 'replication')] },
    broker(0, a.broker, a['broker-http']),
    ...(replicas > 1 ? [broker(1, a['broker-1'], a['broker-1-http'])] : []),
    { name: 'metrics', args: ['--http-listen', a['metrics-http'], '--name-servers', a['name-server']] },
  ];
}
const stopOrder = ['metrics', 'replication', 'broker-a-1', 'broker-a-0', 'name-server'];

const LEVEL_SHOWN = new Set(['warn', 'error']);

/** One JSON log line as "HH:MM:SS LEVEL msg key=value ...", or the raw line if it is not JSON. */
function readable(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return { level: 'raw', text: line };
  }
  const { time, level = 'info', msg = '', app: _app, ...fields } = entry;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return { level, text: `${clock} ${String(level).toUpperCase().padEnd(5)} ${msg}${rest ? ' ' + rest : ''}` };
}

function startApp(app, options) {
  const label = app.label ?? app.name;
  const main = join(root, 'apps', app.name, 'dist/main.js');
  if (!existsSync(main)) {
    throw Object.assign(new Error(`${main} is missing: apps/${app.name}/src/main.ts does not exist yet or did not build`), { label });
  }
  const logPath = join(options.dataDir, 'logs', `${label}.log`);
  const logFile = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, ['--enable-source-maps', main, ...app.args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const prefix = `[${label}]`.padEnd(14);
  const running = {
    label,
    child,
    logPath,
    stopping: false,
    exited: new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal }))),
  };
  // 'close' comes after the last output line has been read, so nothing is written after end().
  child.once('close', () => logFile.end());
  logFile.on('error', (error) => console.error(`${label}: cannot write ${logPath}: ${error.message}`));
  const ready = new Promise((resolveReady, rejectReady) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      logFile.write(line + '\n');
      const { level, text } = readable(line);
      if (options.verbose || LEVEL_SHOWN.has(level) || level === 'raw') console.log(`${prefix} ${text}`);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'ready') resolveReady(entry.endpoints ?? {});
      } catch {
        // not JSON: already printed above
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      logFile.write(`[stderr] ${line}\n`);
      console.error(`${prefix} ${line}`);
    });
    void running.exited.then(({ code, signal }) =>
      rejectReady(Object.assign(new Error(`${label} exited (code ${code}, signal ${signal}) before it was ready`), { label })),
    );
    setTimeout(() => rejectReady(Object.assign(new Error(`${label} was not ready within ${READY_TIMEOUT_MS} ms`), { label })), READY_TIMEOUT_MS).unref();
  });
  return { running, ready };
}

async function stop(running) {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return true;
  running.stopping = true;
  running.child.kill('SIGTERM');
  let timer;
  const timedOut = new Promise((resolveTimeout) => (timer = setTimeout(() => resolveTimeout('timeout'), STOP_TIMEOUT_MS)));
  const result = await Promise.race([running.exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    console.error(`${running.label} did not stop within ${STOP_TIMEOUT_MS} ms after SIGTERM; killing it`);
    running.child.kill('SIGKILL');
    await running.exited;
    return false;
  }
  if (result.code !== 0) console.error(`${running.label} stopped with code ${result.code} (signal ${result.signal}); see ${running.logPath}`);
  return result.code === 0;
}

async function stopAll(started) {
  const byLabel = new Map(started.map((running) => [running.label, running]));
  let clean = true;
  for (const label of stopOrder) {
    const running = byLabel.get(label);
    if (!running || running.child.exitCode !== null || running.child.signalCode !== null) continue;
    process.stdout.write(`stopping ${label} ... `);
    const ok = await stop(running);
    console.log(ok ? 'stopped' : 'not clean');
    clean &&= ok;
  }
  return clean;
}

function box(lines) {
  const width = Math.max(...lines.map((line) => line.length));
  return [`+${'-'.repeat(width + 2)}+`, ...lines.map((line) => `| ${line.padEnd(width)} |`), `+${'-'.repeat(width + 2)}+`].join('\n');
}

/** With addresses moved off the defaults: the variables that point every `rmq` command at this stack. */
function rmqEnvironment({ broker, nameServer, controller }) {
  const moved = [['RMQ_NAME_SERVER', nameServer, ADDRESSES['name-server']], ['RMQ_BROKER', broker, ADDRESSES.broker], ['RMQ_CONTROLLER', controller, ADDRESSES.replication]]
    .filter(([, address, byDefault]) => address !== byDefault);
  return moved.length === 0 ? [] : [`rmq here:        export ${moved.map(([name, address]) => `${name}=${address}`).join(' ')}`];
}

function summary(options, endpoints) {
  const show = (path) => {
    const relativePath = relative(process.cwd(), path);
    return relativePath.startsWith('..') ? path : `./${relativePath}`;
  };
  const broker = endpoints['broker-a-0']?.grpc ?? options.addresses.broker;
  const nameServer = endpoints['name-server']?.grpc ?? options.addresses['name-server'];
  const brokerFlag = broker === ADDRESSES.broker ? '' : ` --broker ${broker}`;
  const nameServerFlag = nameServer === ADDRESSES['name-server'] ? '' : ` --name-server ${nameServer}`;
  const brokers = [0, 1].filter((id) => id < options.replicas).map((id) => {
    const label = `broker-a-${id}`;
    const grpc = endpoints[label]?.grpc ?? options.addresses[id === 0 ? 'broker' : 'broker-1'];
    const http = endpoints[label]?.http ?? options.addresses[id === 0 ? 'broker-http' : 'broker-1-http'];
    return `${`Broker ${label}`.padEnd(27)}${grpc}  (metrics http://${http}/metrics)`;
  });
  return box([
    'rmq local stack is running',
    '',
    `Client access point        ${nameServer}   (endpoints of the RocketMQ 5 clients: the name server)`,
    ...brokers,
    `Replication controller     ${endpoints.replication?.grpc ?? options.addresses.replication}   (decides which broker is master)`,
    `Metrics (Prometheus)       http://${endpoints.metrics?.http ?? options.addresses['metrics-http']}/metrics`,
    `Data                       ${show(options.dataDir)}`,
    `Logs                       ${show(join(options.dataDir, 'logs'))}/<app>.log`,
    '',
    `Create a topic:  npx rmq topic create TestTopic${brokerFlag}   (on the master: see cluster status)`,
    `Cluster status:  npx rmq cluster status${nameServerFlag}`,
    ...rmqEnvironment({ broker, nameServer, controller: endpoints.replication?.grpc ?? options.addresses.replication }),
    'Failover:        kill the master broker\'s process; the stack restarts it and it rejoins as a slave',
    'Stop:            Ctrl-C',
  ]);
}

async function main() {
  let options;
  try {
    options = readOptions();
  } catch (error) {
    console.error(`error: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  const problems = await addressProblems(options);
  if (problems.length > 0) {
    const [{ flag }] = problems;
    const port = Number(options.addresses[flag].split(':').pop());
    const example = `${envName(flag)}=127.0.0.1:${port >= 1 && port < 55_000 ? port + 10_000 : 0}`;
    console.error(`${problems.map((problem) => `error: ${problem.text}`).join('\n')}\n\nStop what holds ${problems.length > 1 ? 'them' : 'it'}, or move this stack's ${problems.length > 1 ? 'addresses' : 'address'}, e.g. ${example} npm start\n(npm start -- --help lists every address with its flag and variable)`);
    process.exit(2);
  }
  mkdirSync(join(options.dataDir, 'logs'), { recursive: true });

  // `npm start` builds through nx (cached) and says so; run directly, the stack builds the apps itself.
  if (process.env.RMQ_STACK_PREBUILT !== '1') {
    console.log('building the apps ...');
    try {
      await buildApps([]);
    } catch (error) {
      console.error(`error: the build failed: ${error.message}`);
      process.exit(1);
    }
  }

  const started = [];
  const endpoints = {};
  let stopping = false;
  const shutDown = async (reason, exitCode) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${reason}; stopping the stack`);
    const clean = await stopAll(started);
    process.exit(clean ? exitCode : Math.max(exitCode, 1));
  };
  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      signals += 1;
      if (signals > 1) {
        console.error('second signal: killing every app now');
        for (const running of started) running.child.kill('SIGKILL');
        process.exit(1);
      }
      void shutDown(`${signal} received`, 0);
    });
  }
  // Last resort if this script dies of an exception: do not leave apps holding the ports.
  process.on('exit', () => {
    for (const running of started) if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
  });

  // A restartable app (a broker) that dies is started again with the same flags: with a controller
  // it comes back as a slave until the controller says otherwise. Anything else dying stops the stack.
  const watch = (app, running, restartsInARow) => {
    const label = app.label ?? app.name;
    const startedAtMs = Date.now();
    void running.exited.then(async ({ code, signal }) => {
      if (running.stopping || stopping) return;
      const quick = Date.now() - startedAtMs < RESTART_WINDOW_MS;
      const inARow = quick ? restartsInARow + 1 : 1;
      if (!app.restartable || inARow > RESTARTS_IN_A_ROW_MAX) {
        console.error(`\nerror: ${label} exited unexpectedly (code ${code}, signal ${signal}); its stderr (if any) is above, its full log is in ${running.logPath}`);
        void shutDown(app.restartable ? `${label} died ${inARow} times in a row` : `${label} died`, 1);
        return;
      }
      console.error(`${label} exited (code ${code}, signal ${signal}); restarting it in ${RESTART_DELAY_MS} ms (it rejoins as a slave)`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, RESTART_DELAY_MS));
      if (stopping) return;
      try {
        const restarted = startApp(app, options);
        started[started.indexOf(running)] = restarted.running;
        watch(app, restarted.running, inARow);
        endpoints[label] = await restarted.ready;
        console.log(`${label} is back on ${endpoints[label].grpc}`);
      } catch (error) {
        console.error(`error: restarting ${label} failed: ${error.message}`);
      }
    });
  };

  for (const app of appsOf(options)) {
    if (stopping) return;
    const label = app.label ?? app.name;
    console.log(`starting ${label} ...`);
    try {
      const { running, ready } = startApp(app, options);
      started.push(running);
      endpoints[label] = await ready;
      watch(app, running, 0);
    } catch (error) {
      const running = started.find((candidate) => candidate.label === (error.label ?? label));
      console.error(`\nerror: ${error.message}${running ? `; its stderr (if any) is above, its full log is in ${running.logPath}` : ''}`);
      await shutDown(`${label} did not start`, 1);
      return;
    }
  }
  console.log(`\n${summary(options, endpoints)}\n`);
}

await main();
