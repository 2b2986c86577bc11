// The unary fast path on a real grpc-js server on loopback: the methods it serves are answered by
// its handler (not grpc-js's), everything else by grpc-js; what a client sees is what grpc-js
// answers (headers, trailers, statuses), the request budget applies as requestBudgetInterceptor
// applies it, and a call's bytes come back whatever ends it.
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { setTimeout as delay } from 'node:timers/promises';
import { addService, createClient, listen, reply, shutdownServer } from './grpc-adapter';
import { createGrpcServer } from './grpc-server';
import { RequestBudget } from './request-budget';
import { messagingFastMethods, serveFastPath } from './fast-path';
import * as v2 from './v2';
import { eventually } from '../test/eventually';

const SEND_PATH = '/apache.rocketmq.v2.MessagingService/SendMessage';
const RECEIVE_BYTES_MAX = 64 * 1024;
const BUDGET_BYTES = 48 * 1024; // below RECEIVE_BYTES_MAX: a request may announce all of it


type SendCall = grpc.ServerUnaryCall<v2.SendMessageRequest, v2.SendMessageResponse>;

/** A SendMessage handler that answers with `who` in the reply's first entry, or holds topic "Hold" until released. */
function sendHandler(who: string, held: { release?: () => void }, seen: string[]) {
  return (call: SendCall, callback: grpc.sendUnaryData<v2.SendMessageResponse>) => {
    seen.push(call.metadata.get('x-mq-client-id')[0] as string);
    const answer = () => callback(null, reply(v2.SendMessageResponseSchema, {
      status: { code: v2.Code.OK, message: 'OK' },
      entries: [{ status: { code: v2.Code.OK, message: 'OK' }, messageId: who, offset: 7n }],
    }));
    if (call.request.messages[0]?.topic?.name === 'Hold') held.release = answer;
    else answer();
  };
}

/** One raw HTTP/2 call: the response headers, trailers and data, or what ended it. */
function rawCall(address: string, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}, end = true) {
  const session = http2.connect(`http://${address}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  const result = new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; data: Buffer }>((resolve) => {
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, data: Buffer.concat(chunks) });
    });
  });
  if (end) stream.end(body);
  else stream.write(body);
  return { result, cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL) };
}

function sendRequestBytes(topic: string): Buffer {
  return Buffer.from(toBinary(v2.SendMessageRequestSchema, create(v2.SendMessageRequestSchema, { messages: [{ topic: { name: topic }, body: Buffer.from('x') }] })));
}

function framed(message: Buffer, announced = message.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(announced, 1);
  return Buffer.concat([header, message]);
}

/** The header fields a client sees, without the date. */
function visible(headers: http2.IncomingHttpHeaders): Record<string, unknown> {
  const { date: _date, ...rest } = headers;
  return rest;
}

describe('unary fast path', () => {
  const budget = new RequestBudget({ bytesMax: BUDGET_BYTES, setting: '--test-budget' });
  const fastHeld: { release?: () => void } = {};
  const seenFast: string[] = [];
  const seenGrpc: string[] = [];
  let enabled = true;
  let installed = false;
  let server: grpc.Server;
  let address: string;
  let client: ReturnType<typeof createClient<typeof v2.MessagingService.method>>;

  beforeAll(async () => {
    server = createGrpcServer({ receiveMessageBytesMax: RECEIVE_BYTES_MAX });
    addService(server, v2.MessagingService, { sendMessage: sendHandler('grpc-js', {}, seenGrpc) } as never);
    address = `127.0.0.1:${await listen(server, '127.0.0.1', 0)}`;
    const fastHandlers = { sendMessage: sendHandler('fast', fastHeld, seenFast), ackMessage: () => undefined, receiveMessage: () => undefined };
    installed = serveFastPath(server, messagingFastMethods(fastHandlers), {
      receiveBytesMax: RECEIVE_BYTES_MAX, budget, requestReadMsMax: 200, enabled: () => enabled,
    });
    client = createClient(v2.MessagingService, address);
  });

  afterAll(async () => {
    client.close();
    await shutdownServer(server, 1_000);
  });

  const send = (topic: string, bodyBytes = 16, deadlineMs = 5_000) => {
    const metadata = new grpc.Metadata();
    metadata.set('x-mq-client-id', 'client-1');
    return client.sendMessage({ messages: [{ topic: { name: topic }, body: Buffer.alloc(bodyBytes, 1) }] }, { deadlineMs, metadata });
  };

  it('is installed on the grpc-js this project pins (its private stream listener and idle bookkeeping)', () => {
    expect(installed).toBe(true);
  });

  it('answers its methods itself, with the headers and trailers grpc-js sends, and leaves the rest to grpc-js', async () => {
    const answer = await send('Plain');
    expect(answer.entries[0].messageId).toBe('fast');
    expect(answer.entries[0].offset).toBe(7n);
    expect(seenFast.at(-1)).toBe('client-1');

    const request = sendRequestBytes('Raw');
    const fast = await rawCall(address, SEND_PATH, framed(request)).result;
    enabled = false;
    const viaGrpc = await rawCall(address, SEND_PATH, framed(request)).result;
    enabled = true;
    expect(visible(fast.headers)).toEqual(visible(viaGrpc.headers));
    expect(fast.trailers).toEqual(viaGrpc.trailers);
    const replyOf = (data: Buffer) => fromBinary(v2.SendMessageResponseSchema, data.subarray(5, 5 + data.readUInt32BE(1)));
    expect(fast.data[0]).toBe(0);
    expect(replyOf(fast.data).entries[0].messageId).toBe('fast');
    expect(replyOf(viaGrpc.data).entries[0].messageId).toBe('grpc-js');
    expect(seenGrpc).toHaveLength(1); // the call made while disabled

    // Compressed requests are grpc-js's to decompress.
    const gzipClient = createClient(v2.MessagingService, address, { 'grpc.default_compression_algorithm': 2 });
    try {
      const compressed = await gzipClient.sendMessage({ messages: [{ topic: { name: 'Gzip' }, body: Buffer.alloc(4096, 1) }] }, { deadlineMs: 5_000 });
      expect(compressed.entries[0].messageId).toBe('grpc-js');
    } finally {
      gzipClient.close();
    }
  });

  it('answers grpc-js\'s statuses for a bad deadline header, an oversized request and an unreadable one', async () => {
    const badTimeout = await rawCall(address, SEND_PATH, framed(Buffer.alloc(0)), { 'grpc-timeout': 'soon' }).result;
    expect(badTimeout.headers['grpc-status']).toBe(String(grpc.status.INTERNAL));
    expect(decodeURI(String(badTimeout.headers['grpc-message']))).toBe('Invalid grpc-timeout value "soon"');

    await expect(send('Big', RECEIVE_BYTES_MAX + 1)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/^Received message larger than max/) });

    const garbage = await rawCall(address, SEND_PATH, framed(Buffer.from([0x0a, 0xff]))).result;
    expect(garbage.headers['grpc-status']).toBe(String(grpc.status.INTERNAL));
    expect(decodeURI(String(garbage.headers['grpc-message']))).toMatch(/^Error deserializing request/);

    const empty = await rawCall(address, SEND_PATH, Buffer.alloc(0)).result;
    expect(empty.headers['grpc-status']).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(budget.inFlightBytes).toBe(0);
  });

  it('answers DEADLINE_EXCEEDED when the handler answers after the call\'s grpc-timeout', async () => {
    const late = rawCall(address, SEND_PATH, framed(sendRequestBytes('Hold')), { 'grpc-timeout': '300m' });
    await eventually(() => expect(fastHeld.release).toBeDefined());
    await delay(400);
    fastHeld.release!();
    fastHeld.release = undefined;
    const answer = await late.result;
    expect(answer.headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(answer.data).toHaveLength(0);
    expect(budget.inFlightBytes).toBe(0);
  });

  it('takes the request budget from the frame header, refuses a send past it in-band, and gives the bytes back however the call ends', async () => {
    // Announces the whole budget and sends a KiB of it: held until it stalls past the read limit (200 ms).
    const stalled = rawCall(address, SEND_PATH, framed(Buffer.alloc(1024), BUDGET_BYTES - 5), {}, false);
    await eventually(() => expect(budget.inFlightBytes).toBe(BUDGET_BYTES));
    const refused = await send('Refused');
    expect(refused.status?.code).toBe(v2.Code.TOO_MANY_REQUESTS);
    expect(refused.status?.message).toMatch(/--test-budget/);
    const ended = await stalled.result;
    expect(ended.headers['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
    expect(budget.inFlightBytes).toBe(0);

    // A call the client cancels while its handler runs gives its bytes back.
    const held = rawCall(address, SEND_PATH, framed(sendRequestBytes('Hold')));
    await eventually(() => expect(fastHeld.release).toBeDefined());
    expect(budget.inFlightBytes).toBeGreaterThan(0);
    held.cancel();
    await held.result;
    await eventually(() => expect(budget.inFlightBytes).toBe(0));
    fastHeld.release!(); // the answer to a cancelled call goes nowhere
    fastHeld.release = undefined;
    expect((await send('After')).entries[0].messageId).toBe('fast');
  });
});
