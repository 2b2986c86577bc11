// ReceiveMessage (server streaming) on the fast path, on a real grpc-js server on loopback, with
// real grpc-js clients and raw HTTP/2 ones: what a client sees is what grpc-js sends (headers,
// frames, trailers, statuses), the frames a handler writes in one tick go in one HTTP/2 write, a
// slow reader holds the frames back (write() answers false, the rest follows on 'drain'), a
// client's cancel and the grpc-timeout deadline reach the handler as grpc-js signals them, and
// the request budget refuses in-band and gets its bytes back however the call ends.
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { addService, createClient, listen, shutdownServer } from './grpc-adapter';
import { createGrpcServer } from './grpc-server';
import { callContextOf } from './in-band';
import { RequestBudget } from './request-budget';
import { messagingFastMethods, serveFastPath } from './fast-path';
import { pooledChunkBytes } from './fast-stream-writer';
import { SELF_ENCODING_FRAME, type SelfEncodingFrame } from './fast-codec/self-encoding-frame';
import * as v2 from './v2';
import { eventually } from '../test/eventually';

const RECEIVE_PATH = '/apache.rocketmq.v2.MessagingService/ReceiveMessage';
const RECEIVE_BYTES_MAX = 512 * 1024;
const BUDGET_BYTES = 256 * 1024; // above GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax (64 KiB): a large request can be refused

type ReceiveCall = grpc.ServerWritableStream<v2.ReceiveMessageRequest, v2.ReceiveMessageResponse>;

const messageFrame = (who: string, index: number, bodyBytes: number) =>
  create(v2.ReceiveMessageResponseSchema, {
    content: { case: 'message', value: { topic: { name: who }, systemProperties: { messageId: String(index), queueOffset: BigInt(index) }, body: Buffer.alloc(bodyBytes, index % 251) } },
  });
const seededFrame = (who: string, index: number, seed: number) =>
  create(v2.ReceiveMessageResponseSchema, {
    content: { case: 'message', value: { topic: { name: who }, systemProperties: { messageId: `${seed}/${index}`, queueOffset: BigInt(index) }, body: Buffer.alloc(1024, (index + seed) % 251) } },
  });
const statusFrame = (code: v2.Code, message: string) => create(v2.ReceiveMessageResponseSchema, { content: { case: 'status', value: { code, message } } });

interface Observed {
  /** Calls held by a handler (group "Hold"), by their client id. */
  held: Map<string, { call: ReceiveCall; aborted: boolean }>;
  /** Whether write() ever answered false to the slow writer. */
  refusedWrite: boolean;
  /** The seeds of the "Seeded" calls whose handler has written everything. */
  seeded: Set<number>;
}

/**
 * Answers by the request's group: "Batch" writes batchSize messages of 100 bytes ("Wide": 1 KiB), then a status;
 * "Hold" keeps the call (a long poll) and notes its abort; "Slow" writes batchSize messages of
 * 16 KiB one per macrotask, then a status.
 */
function receiveHandler(who: string, observed: Observed) {
  return (call: ReceiveCall) => {
    const request = call.request;
    const group = request.group?.name;
    const finish = () => {
      call.write(statusFrame(v2.Code.OK, 'OK'));
      call.end();
    };
    if (group === 'Hold') {
      const context = callContextOf(call);
      const entry = { call, aborted: false };
      context.signal.addEventListener('abort', () => (entry.aborted = true));
      observed.held.set(context.clientId, entry);
      return;
    }
    if (group === 'Slow') {
      let index = 0;
      const next = () => {
        if (call.cancelled) return;
        if (index === request.batchSize) return finish();
        if (!call.write(messageFrame(who, index++, 16 * 1024))) observed.refusedWrite = true;
        setImmediate(next);
      };
      return next();
    }
    if (group === 'Broken') {
      // Three replies, then one whose encoding fails, all in one tick.
      for (let index = 0; index < 3; index++) call.write(messageFrame(who, index, 100));
      call.write(unencodable as never);
      return finish();
    }
    if (group === 'Seeded') {
      // 1 KiB bodies whose bytes depend on the call (its filter expression's length) and the index.
      const seed = request.filterExpression?.expression.length ?? 0;
      for (let index = 0; index < request.batchSize; index++) call.write(seededFrame(who, index, seed));
      finish();
      observed.seeded.add(seed);
      return;
    }
    const bodyBytes = group === 'Wide' ? 1024 : 100;
    for (let index = 0; index < request.batchSize; index++) call.write(messageFrame(who, index, bodyBytes));
    finish();
  };
}

/** A reply whose encoding throws, on the fast path and in grpc-js's serializer (both encode self-encoding frames). */
const unencodable: SelfEncodingFrame = {
  $typeName: SELF_ENCODING_FRAME,
  encodeInto: () => {
    throw new Error('cannot encode this one');
  },
};

function receiveRequestBytes(group: string, batchSize: number, filterBytes = 0): Buffer {
  return Buffer.from(toBinary(v2.ReceiveMessageRequestSchema, create(v2.ReceiveMessageRequestSchema, {
    group: { name: group }, batchSize, filterExpression: { expression: 'x'.repeat(filterBytes) },
  })));
}

function framed(message: Buffer, announced = message.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(announced, 1);
  return Buffer.concat([header, message]);
}

interface RawResult {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  /** The DATA as it arrived, one entry per 'data' event. */
  chunks: Buffer[];
}

/** One raw HTTP/2 call; `paused`: the client reads nothing until resume() is called. */
function rawCall(address: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}, options: { end?: boolean; paused?: boolean } = {}) {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': RECEIVE_PATH, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  const result = new Promise<RawResult>((resolve) => {
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, chunks });
    });
  });
  if (options.paused) stream.pause();
  if (options.end === false) stream.write(body);
  else stream.end(body);
  return { result, resume: () => stream.resume(), cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL) };
}

/** The replies in a response's DATA, in order. */
function repliesOf(data: Buffer): v2.ReceiveMessageResponse[] {
  const replies: v2.ReceiveMessageResponse[] = [];
  for (let pos = 0; pos < data.length;) {
    const length = data.readUInt32BE(pos + 1);
    replies.push(fromBinary(v2.ReceiveMessageResponseSchema, data.subarray(pos + 5, pos + 5 + length)));
    pos += 5 + length;
  }
  return replies;
}

function visible(headers: http2.IncomingHttpHeaders): Record<string, unknown> {
  const { date: _date, ...rest } = headers;
  return rest;
}

describe('streaming fast path (ReceiveMessage)', () => {
  const budget = new RequestBudget({ bytesMax: BUDGET_BYTES, setting: '--test-budget' });
  const fast: Observed = { held: new Map(), refusedWrite: false, seeded: new Set() };
  const viaGrpc: Observed = { held: new Map(), refusedWrite: false, seeded: new Set() };
  let enabled = true;
  let installed = false;
  let server: grpc.Server;
  let address: string;
  let client: ReturnType<typeof createClient<typeof v2.MessagingService.method>>;

  beforeAll(async () => {
    server = createGrpcServer({ receiveMessageBytesMax: RECEIVE_BYTES_MAX });
    addService(server, v2.MessagingService, { receiveMessage: receiveHandler('grpc-js', viaGrpc) } as never);
    address = `127.0.0.1:${await listen(server, '127.0.0.1', 0)}`;
    const handlers = { sendMessage: () => undefined, ackMessage: () => undefined, receiveMessage: receiveHandler('fast', fast) };
    installed = serveFastPath(server, messagingFastMethods(handlers), {
      receiveBytesMax: RECEIVE_BYTES_MAX, budget, requestReadMsMax: 200, enabled: () => enabled,
    });
    client = createClient(v2.MessagingService, address);
  });

  afterAll(async () => {
    client.close();
    await shutdownServer(server, 1_000);
  });

  /** A receive by the grpc-js client: every reply, or the call's error. */
  const receive = (group: string, batchSize: number, options: { deadlineMs?: number; clientId?: string; signal?: AbortSignal } = {}) => {
    const metadata = new grpc.Metadata();
    metadata.set('x-mq-client-id', options.clientId ?? 'client-1');
    const call = client.receiveMessage({ group: { name: group }, batchSize }, { deadlineMs: options.deadlineMs ?? 5_000, metadata, signal: options.signal });
    return new Promise<v2.ReceiveMessageResponse[]>((resolve, reject) => {
      const replies: v2.ReceiveMessageResponse[] = [];
      call.on('data', (reply: v2.ReceiveMessageResponse) => replies.push(reply));
      call.on('error', reject);
      call.on('end', () => resolve(replies));
    });
  };

  it('is installed with ReceiveMessage among its methods', () => {
    expect(installed).toBe(true);
  });

  it('streams every reply to a grpc-js client, and sends what grpc-js sends: headers, frames and trailers', async () => {
    const replies = await receive('Batch', 40);
    expect(replies).toHaveLength(41);
    expect(replies.slice(0, 40).map((r) => r.content.case === 'message' && r.content.value.topic?.name)).toEqual(Array(40).fill('fast'));
    expect(replies.slice(0, 40).map((r) => r.content.case === 'message' && Number(r.content.value.systemProperties?.queueOffset))).toEqual([...Array(40).keys()]);
    expect(replies[40].content).toMatchObject({ case: 'status', value: { code: v2.Code.OK } });

    const request = framed(receiveRequestBytes('Batch', 10));
    const fastRaw = await rawCall(address, request).result;
    enabled = false;
    const grpcRaw = await rawCall(address, request).result;
    enabled = true;
    expect(visible(fastRaw.headers)).toEqual(visible(grpcRaw.headers));
    expect(fastRaw.trailers).toEqual(grpcRaw.trailers);
    const fastReplies = repliesOf(Buffer.concat(fastRaw.chunks));
    const grpcReplies = repliesOf(Buffer.concat(grpcRaw.chunks));
    expect(fastReplies).toHaveLength(11);
    // The same replies but for who answered.
    const anonymous = (replies: v2.ReceiveMessageResponse[]) => replies.map((r) => toBinary(v2.ReceiveMessageResponseSchema, r).length);
    expect(anonymous(fastReplies).map((n) => n)).toEqual(anonymous(grpcReplies).map((n, i) => (i < 10 ? n - 'grpc-js'.length + 'fast'.length : n)));
  });

  it('writes the frames of one tick in one HTTP/2 write: they arrive as one DATA frame, where grpc-js sends one per message', async () => {
    const request = framed(receiveRequestBytes('Batch', 10));
    const fastRaw = await rawCall(address, request).result;
    enabled = false;
    const grpcRaw = await rawCall(address, request).result;
    enabled = true;
    expect(fastRaw.chunks).toHaveLength(1); // 10 messages of ~120 bytes and the status: one write, one DATA frame
    expect(grpcRaw.chunks.length).toBeGreaterThan(1);
  });

  it('sends a receive that spans several of its chunks whole and in order', async () => {
    const replies = await receive('Wide', 1_000); // 1.1 MB: chunks of 16 KiB, 64 KiB, 256 KiB, 1 MiB
    expect(replies).toHaveLength(1_001);
    expect(replies.slice(0, 1_000).map((r) => r.content.case === 'message' && Number(r.content.value.systemProperties?.queueOffset))).toEqual([...Array(1_000).keys()]);
    expect(replies.slice(0, 1_000).every((r) => r.content.case === 'message' && r.content.value.body.length === 1024 && r.content.value.body[0] === Number(r.content.value.systemProperties?.queueOffset) % 251)).toBe(true);
    expect(replies[1_000].content).toMatchObject({ case: 'status', value: { code: v2.Code.OK } });
  });

  it('reuses a finished call\'s chunks for the next calls, once the stream has written them, without mixing calls\' bytes', async () => {
    const count = 1_500; // chunks of 16 KiB, 64 KiB, 256 KiB and two of 1 MiB per call
    const check = (answer: RawResult, seed: number) => {
      expect(answer.trailers['grpc-status']).toBe('0');
      const replies = repliesOf(Buffer.concat(answer.chunks));
      expect(replies).toHaveLength(count + 1);
      for (let index = 0; index < count; index++) {
        const reply = replies[index].content;
        if (reply.case !== 'message') throw new Error(`reply ${index} is not a message`);
        expect(reply.value.systemProperties?.messageId).toBe(`${seed}/${index}`);
        expect(reply.value.body.every((byte) => byte === (index + seed) % 251)).toBe(true);
      }
    };
    const seeded = (seed: number, paused = false) => rawCall(address, framed(receiveRequestBytes('Seeded', count, seed)), {}, { paused });
    check(await seeded(1).result, 1);
    await eventually(() => expect(pooledChunkBytes()).toBeGreaterThan(0));
    // A paused reader holds its chunks while other calls take and give back theirs.
    const held = seeded(2, true);
    await eventually(() => expect(fast.seeded.has(2)).toBe(true)); // its frames written and its status too
    const others = await Promise.all([seeded(3).result, seeded(4).result, seeded(5).result]);
    others.forEach((answer, i) => check(answer, 3 + i));
    held.resume();
    check(await held.result, 2);
    check(await seeded(6).result, 6);
  });

  it('holds frames back from a slow reader (write() answers false) and sends them all, in order, once it reads', async () => {
    const count = 64; // 1 MiB: far past the stream's 64 KiB window and its write buffer
    const slow = rawCall(address, framed(receiveRequestBytes('Slow', count)), {}, { paused: true });
    await eventually(() => expect(fast.refusedWrite).toBe(true));
    slow.resume();
    const answer = await slow.result;
    expect(answer.trailers['grpc-status']).toBe('0');
    const replies = repliesOf(Buffer.concat(answer.chunks));
    expect(replies).toHaveLength(count + 1);
    expect(replies.slice(0, count).map((r) => r.content.case === 'message' && r.content.value.systemProperties?.messageId)).toEqual([...Array(count).keys()].map(String));
    expect(replies.slice(0, count).every((r) => r.content.case === 'message' && r.content.value.body.length === 16 * 1024)).toBe(true);
  });

  it('signals a client\'s cancel mid long poll to the handler (its abort signal), and gives the budget\'s bytes back', async () => {
    const abort = new AbortController();
    const polling = receive('Hold', 32, { clientId: 'cancelling', signal: abort.signal });
    await eventually(() => expect(fast.held.get('cancelling')).toBeDefined());
    expect(budget.inFlightBytes).toBeGreaterThan(0);
    const held = fast.held.get('cancelling')!;
    // The headers as grpc-js's Metadata gives them to a forwarder (getMap): no pseudo-headers.
    const headers = held.call.metadata.getMap();
    expect(headers['x-mq-client-id']).toBe('cancelling');
    expect(Object.keys(headers).filter((name) => name.startsWith(':'))).toEqual([]);
    expect(held.aborted).toBe(false);
    expect(held.call.cancelled).toBe(false);
    abort.abort();
    await expect(polling).rejects.toMatchObject({ code: grpc.status.CANCELLED });
    await eventually(() => expect(held.aborted).toBe(true));
    expect(held.call.cancelled).toBe(true);
    expect(budget.inFlightBytes).toBe(0);
    // Writes to a cancelled call go nowhere.
    expect(held.call.write(statusFrame(v2.Code.OK, 'late'))).toBe(false);
    held.call.end();
  });

  it('gives binary (-bin) headers to the handler as Buffers, as grpc-js\'s Metadata does (a forwarder copies them)', async () => {
    const headers = { 'x-mq-client-id': 'bin-headers', 'x-trace-bin': Buffer.from([0, 1, 2, 250, 255]).toString('base64'), 'x-two-bin': 'AAE=, /w==', 'x-plain': 'text' };
    const held = async (observed: Observed) => {
      const call = rawCall(address, framed(receiveRequestBytes('Hold', 32)), headers);
      await eventually(() => expect(observed.held.get('bin-headers')).toBeDefined());
      const entry = observed.held.get('bin-headers')!;
      observed.held.delete('bin-headers');
      const seen = { map: entry.call.metadata.getMap(), two: entry.call.metadata.get('x-two-bin'), plain: entry.call.metadata.get('x-plain') };
      call.cancel();
      await call.result;
      return seen;
    };
    const fastSeen = await held(fast);
    enabled = false;
    const grpcSeen = await held(viaGrpc);
    enabled = true;
    expect(Buffer.isBuffer(fastSeen.map['x-trace-bin'])).toBe(true);
    expect([...(fastSeen.map['x-trace-bin'] as Buffer)]).toEqual([0, 1, 2, 250, 255]);
    expect(fastSeen.two).toEqual([Buffer.from([0, 1]), Buffer.from([255])]);
    const pick = (map: Record<string, unknown>) => Object.fromEntries(Object.keys(headers).map((name) => [name, map[name]]));
    expect(pick(fastSeen.map)).toEqual(pick(grpcSeen.map));
    expect(fastSeen.two).toEqual(grpcSeen.two);
    expect(fastSeen.plain).toEqual(grpcSeen.plain);
    expect(budget.inFlightBytes).toBe(0);
  });

  it('sends the replies written before one whose encoding fails, then INTERNAL, as grpc-js does', async () => {
    const request = framed(receiveRequestBytes('Broken', 0));
    const fastRaw = await rawCall(address, request).result;
    enabled = false;
    const grpcRaw = await rawCall(address, request).result;
    enabled = true;
    for (const answer of [fastRaw, grpcRaw]) {
      const replies = repliesOf(Buffer.concat(answer.chunks));
      expect(replies.map((r) => r.content.case === 'message' && r.content.value.systemProperties?.messageId)).toEqual(['0', '1', '2']);
      expect(answer.trailers['grpc-status']).toBe(String(grpc.status.INTERNAL));
    }
    expect(visible(fastRaw.headers)).toEqual(visible(grpcRaw.headers));
    expect(decodeURI(String(fastRaw.trailers['grpc-message']))).toMatch(/^Error serializing response/);
    expect(budget.inFlightBytes).toBe(0);
    // The grpc-js client sees the three replies, then the error.
    const replies: v2.ReceiveMessageResponse[] = [];
    const metadata = new grpc.Metadata();
    const call = client.receiveMessage({ group: { name: 'Broken' } }, { deadlineMs: 5_000, metadata });
    call.on('data', (reply: v2.ReceiveMessageResponse) => replies.push(reply));
    await expect(new Promise((resolve, reject) => (call.on('error', reject), call.on('end', resolve)))).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    expect(replies).toHaveLength(3);
  });

  it('ends a long poll past its grpc-timeout with DEADLINE_EXCEEDED, as grpc-js does, and the handler sees it cancelled', async () => {
    const started = Date.now();
    const late = rawCall(address, framed(receiveRequestBytes('Hold', 32)), { 'grpc-timeout': '300m', 'x-mq-client-id': 'deadline' });
    const answer = await late.result;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(decodeURI(String(answer.headers['grpc-message']))).toBe('Deadline exceeded');
    expect(answer.chunks).toHaveLength(0);
    enabled = false;
    const viaGrpcAnswer = await rawCall(address, framed(receiveRequestBytes('Hold', 32)), { 'grpc-timeout': '300m', 'x-mq-client-id': 'deadline' }).result;
    enabled = true;
    expect(visible(answer.headers)).toEqual(visible(viaGrpcAnswer.headers));
    await eventually(() => expect(viaGrpc.held.get('deadline')?.aborted).toBe(true));
    const held = fast.held.get('deadline')!;
    expect(held.aborted).toBe(true);
    expect(held.call.cancelled).toBe(true);
    expect(budget.inFlightBytes).toBe(0);

    // A grpc-js client's own deadline: the same status, whichever side ends it first.
    await expect(receive('Hold', 32, { deadlineMs: 300, clientId: 'client-deadline' })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await eventually(() => expect(fast.held.get('client-deadline')?.aborted).toBe(true));
    expect(budget.inFlightBytes).toBe(0);
  });

  it('refuses a large request past the request budget in-band (one status reply, OK trailers) and gives a stalled one\'s bytes back', async () => {
    // Announces the whole budget and sends a KiB of it: held until it stalls past the read limit (200 ms).
    const stalled = rawCall(address, framed(Buffer.alloc(1024), BUDGET_BYTES - 5), {}, { end: false });
    await eventually(() => expect(budget.inFlightBytes).toBe(BUDGET_BYTES));
    const refused = await rawCall(address, framed(receiveRequestBytes('Batch', 10, 100 * 1024))).result;
    expect(refused.headers['grpc-status']).toBeUndefined();
    expect(refused.trailers['grpc-status']).toBe('0');
    const replies = repliesOf(Buffer.concat(refused.chunks));
    expect(replies).toHaveLength(1);
    expect(replies[0].content).toMatchObject({ case: 'status', value: { code: v2.Code.TOO_MANY_REQUESTS, message: expect.stringMatching(/--test-budget/) } });
    const ended = await stalled.result;
    expect(ended.headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(budget.inFlightBytes).toBe(0);
    // Small requests are admitted whatever the budget holds, as requestBudgetInterceptor admits them.
    expect(await receive('Batch', 2)).toHaveLength(3);
  });

  it('answers grpc-js\'s statuses for a missing request and an oversized one', async () => {
    const empty = await rawCall(address, Buffer.alloc(0)).result;
    expect(empty.headers['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED));
    const oversized = await rawCall(address, framed(Buffer.alloc(16), RECEIVE_BYTES_MAX + 1), {}, { end: false }).result;
    expect(oversized.headers['grpc-status']).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    expect(budget.inFlightBytes).toBe(0);
  });
});
