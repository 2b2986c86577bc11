// The request budget on a real grpc-js server on loopback: bytes taken when a request's frame
// header arrives and given back when the call ends, a refusal in-band before the handler runs,
// and a request that stalls ended after the read limit.
import * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { addService, createClient, listen, reply, shutdownServer } from './grpc-adapter';
import { createGrpcServer } from './grpc-server';
import { RequestBudget } from './request-budget';
import { requestBudgetInterceptor } from './request-budget-interceptor';
import * as v2 from './v2';
import { eventually } from '../test/eventually';

const BUDGET_BYTES = 1024 * 1024;

const SEND_PATH = '/apache.rocketmq.v2.MessagingService/SendMessage';

describe('request budget interceptor', () => {
  const budget = new RequestBudget({ bytesMax: BUDGET_BYTES, setting: '--test-budget' });
  const handled: number[] = [];
  let release: (() => void) | undefined;
  let server: grpc.Server;
  let address: string;
  let client: ReturnType<typeof createClient<typeof v2.MessagingService.method>>;

  beforeAll(async () => {
    server = createGrpcServer({ interceptors: [requestBudgetInterceptor(budget, { services: [v2.MessagingService], alwaysBudgeted: [SEND_PATH], requestReadMsMax: 200 })] });
    addService(server, v2.MessagingService, {
      sendMessage: (call: grpc.ServerUnaryCall<v2.SendMessageRequest, v2.SendMessageResponse>, callback: grpc.sendUnaryData<v2.SendMessageResponse>) => {
        handled.push(budget.inFlightBytes);
        const answer = () => callback(null, reply(v2.SendMessageResponseSchema, { status: { code: v2.Code.OK, message: 'OK' } }));
        if (call.request.messages[0]?.topic?.name === 'Hold') release = answer;
        else answer();
      },
    } as never);
    address = `127.0.0.1:${await listen(server, '127.0.0.1', 0)}`;
    client = createClient(v2.MessagingService, address);
  });

  afterAll(async () => {
    client.close();
    await shutdownServer(server, 1_000);
  });

  const send = (topic: string, bodyBytes: number) => client.sendMessage({ messages: [{ topic: { name: topic }, body: Buffer.alloc(bodyBytes, 1) }] }, { deadlineMs: 5_000 });

  it('holds a request\'s bytes while it is handled, and gives them back with the answer', async () => {
    handled.length = 0;
    expect((await send('Plain', 10_000)).status?.code).toBe(v2.Code.OK);
    expect(handled[0]).toBeGreaterThan(10_000);
    expect(budget.inFlightBytes).toBe(0);
  });

  it('refuses a request past the budget in-band, before its handler runs', async () => {
    handled.length = 0;
    const held = send('Hold', 600 * 1024);
    await eventually(() => expect(release).toBeDefined());
    const refusalsBefore = budget.refusals;
    const refused = await send('Refused', 600 * 1024);
    expect(refused.status?.code).toBe(v2.Code.TOO_MANY_REQUESTS);
    expect(refused.status?.message).toMatch(/budget of request bytes in flight is 1 MiB \(--test-budget\)/);
    expect(budget.refusals).toBe(refusalsBefore + 1);
    release!();
    release = undefined;
    expect((await held).status?.code).toBe(v2.Code.OK);
    expect(handled).toHaveLength(1); // the refused request never reached the handler
    expect(budget.inFlightBytes).toBe(0);
  });

  it('ends a request that stops arriving, and gives its bytes back', async () => {
    const session = http2.connect(`http://${address}`);
    try {
      const stream = session.request({ ':method': 'POST', ':path': SEND_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => {
        stream.on('response', (headers) => headers['grpc-status'] !== undefined && resolve(headers));
        stream.on('trailers', resolve);
      });
      stream.on('error', () => undefined);
      const header = Buffer.alloc(5);
      header.writeUInt32BE(512 * 1024, 1);
      stream.write(Buffer.concat([header, Buffer.alloc(1024)]));
      await eventually(() => expect(budget.inFlightBytes).toBe(5 + 512 * 1024));
      const ended = await trailers;
      expect(ended['grpc-status']).toBe('4'); // DEADLINE_EXCEEDED
      expect(decodeURIComponent(String(ended['grpc-message']))).toBe('the request announced 524293 bytes and did not arrive whole within 200 ms');
      expect(budget.inFlightBytes).toBe(0);
    } finally {
      session.destroy();
    }
  });

  it('gives the bytes back when the caller cancels', async () => {
    const session = http2.connect(`http://${address}`);
    const stream = session.request({ ':method': 'POST', ':path': SEND_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(256 * 1024, 1);
    stream.write(Buffer.concat([header, Buffer.alloc(1024)]));
    await eventually(() => expect(budget.inFlightBytes).toBe(5 + 256 * 1024));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await eventually(() => expect(budget.inFlightBytes).toBe(0));
    session.destroy();
  });
});
