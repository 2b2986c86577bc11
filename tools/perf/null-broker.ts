// A broker that does nothing: the RocketMQ v2 calls peerbench's rocketmq-raw makes (QueryRoute, Telemetry's
// Settings, Heartbeat, SendMessage, NotifyClientTermination) answered at once through the same grpc-js server
// setup and hot-path SendMessage codec as the broker, nothing stored. Produce against it measures the benchmark
// client's own ceiling (its CPU per message and the gRPC transport), the rate no broker can beat with that
// client on this machine. Usage: node tools/run-ts.mjs tools/perf/null-broker.ts [--listen 127.0.0.1:18099]
// (other flags are ignored, so its bundle stands in for a broker's in ab-run.sh: `node tools/run-ts.mjs --bundle-only
// tools/perf/null-broker.ts` prints the bundle; `tools/perf/ab-run.sh 3 <that bundle> apps/broker/dist/main.js --
// --tests produce` measures both in one run).
// --fast-path: SendMessage and AckMessage answered on node:http2 (fast-path.ts) as the broker answers them
// without auth, a cluster secret or tracing, instead of by grpc-js. ab-run.sh passes no per-bundle flags: a
// two-line bundle `process.argv.push('--fast-path'); require('<null bundle>');` in its own directory stands in.
import { addService, create, createGrpcServer, listen, messagingFastMethods, SendMessageReply, serveFastPath, v2, type SendRequestColumns, type ServiceHandlers, widenReceiveWindows } from '@rmq/contracts';

const listenArg = process.argv.indexOf('--listen');
const [host, portText] = (listenArg >= 0 ? process.argv[listenArg + 1] : '127.0.0.1:18099').split(':');
const port = Number(portText);
const fastPath = process.argv.includes('--fast-path');
/** The broker's (main.ts). */
const RECEIVE_BYTES_MAX = 32 * 1024 * 1024;
const ok = () => create(v2.StatusSchema, { code: v2.Code.OK, message: 'OK' });

async function main(): Promise<void> {
  const server = createGrpcServer({ receiveMessageBytesMax: RECEIVE_BYTES_MAX });
  const endpoints = create(v2.EndpointsSchema, { scheme: v2.AddressScheme.IPv4, addresses: [{ host, port }] });
  // Only what produce needs; grpc-js answers UNIMPLEMENTED for the other methods.
  const handlers: Partial<ServiceHandlers<typeof v2.MessagingService.method>> = {
    queryRoute: (call, callback) => callback(null, create(v2.QueryRouteResponseSchema, {
      status: ok(),
      messageQueues: [0, 1, 2, 3, 4, 5, 6, 7].map((id) => ({
        topic: call.request.topic, id, permission: v2.Permission.READ_WRITE,
        broker: { name: 'null', id: 0, endpoints }, acceptMessageTypes: [v2.MessageType.NORMAL],
      })),
    })),
    heartbeat: (_call, callback) => callback(null, create(v2.HeartbeatResponseSchema, { status: ok() })),
    // As the broker reads and answers a send (send-request.ts, send-reply.ts): the ids by column, the reply from them.
    sendMessage: (call, callback) => {
      const reply = new SendMessageReply((call.request as unknown as SendRequestColumns).messageIds.map((messageId, queueOffset) => ({ messageId, queueOffset })));
      reply.status = ok();
      callback(null, reply as unknown as v2.SendMessageResponse);
    },
    ackMessage: (call, callback) => callback(null, create(v2.AckMessageResponseSchema, {
      status: ok(), entries: call.request.entries.map((entry) => ({ messageId: entry.messageId, status: ok() })),
    })),
    notifyClientTermination: (_call, callback) => callback(null, create(v2.NotifyClientTerminationResponseSchema, { status: ok() })),
    telemetry: (call) => {
      call.on('data', (command: v2.TelemetryCommand) => {
        if (command.command.case === 'settings') call.write(create(v2.TelemetryCommandSchema, { status: ok(), command: { case: 'settings', value: command.command.value } }));
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  };
  addService(server, v2.MessagingService, handlers as ServiceHandlers<typeof v2.MessagingService.method>);
  await listen(server, host, port);
  // Experiment (wave 9): RMQ_RECEIVE_WINDOW=<bytes> widens the HTTP/2 receive windows.
  if (process.env.RMQ_RECEIVE_WINDOW) widenReceiveWindows(server, Number(process.env.RMQ_RECEIVE_WINDOW));
  // As the broker's main.ts: after listen (the HTTP/2 servers exist), the broker's receive limit.
  const fast = fastPath && serveFastPath(server, messagingFastMethods(handlers as { sendMessage: unknown; ackMessage: unknown; receiveMessage: unknown })
    .filter((method) => typeof method.handler === 'function'), { receiveBytesMax: RECEIVE_BYTES_MAX }) // it has no receives;
  if (fastPath && !fast) throw new Error('--fast-path: grpc-js internals are not as fast-path.ts expects');
  console.log(JSON.stringify({ msg: 'ready', port, pid: process.pid, fastPath: fast }));
}

void main();
