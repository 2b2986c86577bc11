#!/usr/bin/env node
// What one gRPC call costs a server, as the official client (rocketmq-client-nodejs) makes it: its request
// headers (x-mq-*, a fresh request id per call, a 3 s deadline), its protobuf stubs, one message per
// SendMessage and one entry per AckMessage, `--inflight` calls at once. Prints per phase the calls/s and
// the server's CPU µs per call (its /proc CPU time over the phase / calls).
//   --target bare        a bare @grpc/grpc-js server (default options, as peerbench's ceiling) started here,
//                        answering each method with fixed reply bytes: grpc-js's own cost per call, the floor
//   --target host:port   a running broker of ours (with --auto-create-topics), with --server-pid <its pid>
//   --broker <bundle.js> starts that broker bundle here (data in a fresh temp dir, `sync`), then measures it
// Phases (--phases): heartbeat (the cheapest handler: the per-call overhead), send, ack (real receipt
// handles: the sent messages are received first, in batches of 32; measured as the receive phase,
// one ReceiveMessage of up to 32 (--receive-batch) at a time as the official simple consumer asks, when
// `receive` is listed too: µs per receive call and per message).
// Usage: node tools/perf/call-cost.mjs --target bare|host:port [--server-pid P] [--calls 20000] [--inflight 64] [--phases heartbeat,send,ack]
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { randomUUID, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const pb = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_pb.js');
const def = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/definition_pb.js');
const { MessagingServiceService } = require('rocketmq-client-nodejs/proto/apache/rocketmq/v2/service_grpc_pb.js');
const { Timestamp } = require('google-protobuf/google/protobuf/timestamp_pb.js');
const { Duration } = require('google-protobuf/google/protobuf/duration_pb.js');

const SELF = fileURLToPath(import.meta.url);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const DEADLINE_MS = 3000; // the official client's default request timeout

function okStatus() {
  return new def.Status().setCode(def.Code.OK).setMessage('OK');
}

/** A bare grpc-js server: requests are not decoded, replies are fixed bytes (what grpc-js alone costs). */
function serveBare() {
  const replies = {
    heartbeat: new pb.HeartbeatResponse().setStatus(okStatus()).serializeBinary(),
    sendMessage: new pb.SendMessageResponse().setStatus(okStatus()).setEntriesList([
      new pb.SendResultEntry().setStatus(okStatus()).setMessageId('01000000000000000000000000000000AA').setOffset(12345)]).serializeBinary(),
    ackMessage: new pb.AckMessageResponse().setStatus(okStatus()).setEntriesList([
      new pb.AckMessageResultEntry().setStatus(okStatus()).setMessageId('01000000000000000000000000000000AA').setReceiptHandle('x'.repeat(60))]).serializeBinary(),
  };
  const definition = {};
  const handlers = {};
  for (const [name, method] of Object.entries(MessagingServiceService)) {
    if (!replies[name]) continue;
    const bytes = Buffer.from(replies[name]);
    definition[name] = { ...method, requestDeserialize: (b) => b, responseSerialize: (b) => b };
    handlers[name] = (_call, callback) => callback(null, bytes);
  }
  const server = new grpc.Server();
  server.addService(definition, handlers);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.send({ port });
  });
  process.on('message', (m) => m === 'exit' && server.tryShutdown(() => process.exit(0)));
}

function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
}

function requestDateTime() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The official client's headers (BaseClient.getRequestMetadata), without credentials. */
function officialMetadata(clientId) {
  const metadata = new grpc.Metadata();
  metadata.set('x-mq-protocol', 'v2');
  metadata.set('x-mq-client-id', clientId);
  metadata.set('x-mq-date-time', requestDateTime());
  metadata.set('x-mq-request-id', randomUUID());
  metadata.set('x-mq-language', 'HTTP');
  metadata.set('x-mq-client-version', '1.0.8');
  return metadata;
}

function unary(client, method, request, clientId) {
  return new Promise((resolve, reject) => {
    client[method](request, officialMetadata(clientId), { deadline: Date.now() + DEADLINE_MS }, (error, reply) => (error ? reject(error) : resolve(reply)));
  });
}

/** Runs `calls` calls, `inflight` at once; `makeRequest(i)` gives the i-th request. */
async function phase(client, method, makeRequest, calls, inflight, clientId, serverPid, check) {
  let issued = 0;
  let failed = 0;
  let firstProblem;
  const cpu0 = cpuSecondsOf(serverPid);
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (issued < calls) {
      const i = issued++;
      try {
        const problem = check(await unary(client, method, makeRequest(i), clientId));
        if (problem) { failed++; firstProblem ??= problem; }
      } catch (error) {
        failed++;
        firstProblem ??= error.message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, calls) }, worker));
  const secs = (performance.now() - t0) / 1000;
  const serverCpu = cpuSecondsOf(serverPid) - cpu0;
  const clientCpu = process.cpuUsage(clientCpu0);
  return {
    calls, failed, firstProblem, secs, callsPerSec: calls / secs,
    serverUsPerCall: (serverCpu * 1e6) / calls, serverCpuPct: (100 * serverCpu) / secs,
    clientCpuPct: (100 * (clientCpu.user + clientCpu.system) / 1e6) / secs,
  };
}

const statusProblem = (reply) => {
  const status = reply.getStatus();
  return status && status.getCode() !== def.Code.OK ? `status ${status.getCode()}: ${status.getMessage()}` : undefined;
};

async function receiveAll(client, topic, group, count, clientId, serverPid, batch) {
  const cpu0 = serverPid ? cpuSecondsOf(serverPid) : 0;
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  let calls = 0;
  const handles = [];
  for (let rounds = 0; handles.length < count && rounds < count; rounds++) {
    const request = new pb.ReceiveMessageRequest()
      .setGroup(new def.Resource().setName(group))
      .setMessageQueue(new def.MessageQueue().setTopic(new def.Resource().setName(topic)).setId(0))
      .setFilterExpression(new def.FilterExpression().setType(def.FilterType.TAG).setExpression('*'))
      .setBatchSize(batch).setAutoRenew(false)
      .setInvisibleDuration(new Duration().setSeconds(300))
      .setLongPollingTimeout(new Duration().setSeconds(5));
    calls++;
    await new Promise((resolve, reject) => {
      const call = client.receiveMessage(request, officialMetadata(clientId), { deadline: Date.now() + 10_000 });
      call.on('data', (frame) => {
        if (frame.hasMessage()) {
          const message = frame.getMessage();
          handles.push([message.getSystemProperties().getMessageId(), message.getSystemProperties().getReceiptHandle()]);
        }
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
  }
  if (handles.length < count) throw new Error(`received ${handles.length} of ${count} messages`);
  const secs = (performance.now() - t0) / 1000;
  const serverCpu = serverPid ? cpuSecondsOf(serverPid) - cpu0 : 0;
  handles.cost = { calls, failed: 0, secs, callsPerSec: calls / secs, serverUsPerCall: (serverCpu * 1e6) / calls, serverCpuPct: (100 * serverCpu) / secs, clientCpuPct: (100 * (process.cpuUsage(clientCpu0).user + process.cpuUsage(clientCpu0).system) / 1e6) / secs, perMessageUs: (serverCpu * 1e6) / handles.length };
  return handles;
}

/** Starts a broker bundle on 127.0.0.1:port with its own data dir; resolves once it logs "ready". */
async function startBroker(bundle, port) {
  const dataDir = mkdtempSync(join(tmpdir(), 'call-cost-'));
  const child = spawn(process.execPath, [...(process.env.NODE_FLAGS ? process.env.NODE_FLAGS.split(' ') : []), bundle,
    '--listen', `127.0.0.1:${port}`, '--http-listen', '127.0.0.1:0', '--data-dir', dataDir, '--name-servers', '',
    '--auto-create-topics', '--flush-mode', process.env.FLUSH ?? 'sync', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.dataDir = dataDir;
  await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the broker did not log "ready" within 30 s: ${seen.slice(-500)}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      if (seen.length < 100_000) seen += chunk;
      if (seen.includes('"ready"')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => reject(new Error(`the broker exited (${code}): ${seen.slice(-500)}`)));
  });
  child.stdout.resume();
  return { child, address: `127.0.0.1:${port}` };
}

async function main() {
  const { values } = parseArgs({ options: {
    target: { type: 'string', default: 'bare' }, 'server-pid': { type: 'string' }, calls: { type: 'string', default: '20000' },
    inflight: { type: 'string', default: '64' }, phases: { type: 'string', default: 'heartbeat,send,ack' }, size: { type: 'string', default: '1024' },
    'receive-batch': { type: 'string', default: '32' },
    label: { type: 'string' }, broker: { type: 'string' }, port: { type: 'string', default: '18139' },
  } });
  const calls = Number(values.calls);
  const inflight = Number(values.inflight);
  const bare = values.target === 'bare' && !values.broker;
  let address = values.target;
  let serverPid = Number(values['server-pid']);
  let child;
  if (bare) {
    child = fork(SELF, ['--serve-bare'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const { port } = await new Promise((resolve) => child.once('message', resolve));
    address = `127.0.0.1:${port}`;
    serverPid = child.pid;
  } else if (values.broker) {
    ({ child, address } = await startBroker(values.broker, Number(values.port)));
    serverPid = child.pid;
  } else if (!serverPid) {
    throw new Error('--server-pid is required with a broker target');
  }
  const Client = grpc.makeGenericClientConstructor(MessagingServiceService, 'MessagingService');
  const client = new Client(address, grpc.credentials.createInsecure());
  const clientId = `call-cost@${process.pid}@0@${Date.now().toString(36)}`;
  const id = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const topic = `cc-${id}`;
  const group = `cc-g-${id}`;
  const body = randomBytes(Number(values.size));
  const results = {};
  try {
    // The group exists (and starts at the beginning) before anything is sent, as with the official consumer.
    await unary(client, 'heartbeat', new pb.HeartbeatRequest().setGroup(new def.Resource().setName(group)).setClientType(def.ClientType.SIMPLE_CONSUMER), clientId);
    const heartbeat = new pb.HeartbeatRequest().setClientType(def.ClientType.PRODUCER);
    // (google-protobuf's add* returns the element added, not the request)
    const sendRequest = (i) => new pb.SendMessageRequest().setMessagesList([new def.Message()
      .setTopic(new def.Resource().setName(topic))
      .setSystemProperties(new def.SystemProperties()
        .setMessageId(`01${(i + 1).toString(16).toUpperCase().padStart(32, '0')}`)
        .setBornTimestamp(Timestamp.fromDate(new Date())).setBornHost('call-cost')
        .setBodyEncoding(def.Encoding.IDENTITY).setQueueId(0).setMessageType(def.MessageType.NORMAL))
      .setBody(body)]);
    const phases = values.phases.split(',');
    for (const name of phases) {
      if (name === 'heartbeat') results.heartbeat = await phase(client, 'heartbeat', () => heartbeat, calls, inflight, clientId, serverPid, statusProblem);
      if (name === 'send') results.send = await phase(client, 'sendMessage', sendRequest, calls, inflight, clientId, serverPid, statusProblem);
      if (name === 'ack') {
        if (!phases.includes('send')) await phase(client, 'sendMessage', sendRequest, calls, inflight, clientId, serverPid, statusProblem);
        const handles = bare ? Array.from({ length: calls }, () => ['01AA', 'x'.repeat(60)]) : await receiveAll(client, topic, group, calls, clientId, serverPid, Number(values['receive-batch']));
        if (phases.includes('receive') && handles.cost) results.receive = handles.cost;
        const ackRequest = (i) => new pb.AckMessageRequest()
          .setGroup(new def.Resource().setName(group)).setTopic(new def.Resource().setName(topic))
          .setEntriesList([new pb.AckMessageEntry().setMessageId(handles[i][0]).setReceiptHandle(handles[i][1])]);
        results.ack = await phase(client, 'ackMessage', ackRequest, calls, inflight, clientId, serverPid, statusProblem);
      }
    }
  } finally {
    client.close();
    if (child) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (bare) child.send('exit');
      else child.kill('SIGTERM');
      await exited;
      if (child.dataDir) rmSync(child.dataDir, { recursive: true, force: true });
    }
  }
  const label = values.label ?? (bare ? 'bare grpc-js' : values.broker ?? values.target);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${label.padEnd(14)} ${name.padEnd(9)} ${Math.round(r.callsPerSec).toString().padStart(6)} calls/s  server ${r.serverUsPerCall.toFixed(1).padStart(6)} µs/call (${r.serverCpuPct.toFixed(0)}% CPU)  client ${r.clientCpuPct.toFixed(0)}% CPU` +
      (r.perMessageUs ? `  (${r.perMessageUs.toFixed(1)} µs per message received, one call at a time)` : '') +
      (r.failed ? `  ${r.failed} failed, first: ${r.firstProblem}` : ''));
  }
  if (process.env.CALL_COST_JSON) console.log(JSON.stringify(results));
}

if (process.argv[2] === '--serve-bare') serveBare();
else await main();
