import * as grpc from '@grpc/grpc-js';
import { RmqError } from '@rmq/base';
import { guardHandlers, type GuardedCall } from './call-guard';
import { addService, createClient, listen, reply, shutdownServer, type ServiceHandlers } from './grpc-adapter';
import { errorCodeOf } from './status';
import * as echo from './gen/rmq/echo/v1/echo_pb';
import * as v2 from './v2';

describe('one guard before every handler, whatever its kind', () => {
  let server: grpc.Server;
  let echoClient: ReturnType<typeof createClient<typeof echo.EchoService.method>>;
  let v2Client: ReturnType<typeof createClient<typeof v2.MessagingService.method>>;
  const seen: GuardedCall[] = [];
  const guard = (call: GuardedCall) => {
    seen.push(call);
    if (call.metadata.get('x-pass')[0] !== 'yes') throw new RmqError('UNAUTHORIZED', { reason: 'no pass' });
  };

  beforeAll(async () => {
    server = new grpc.Server();
    const echoHandlers: ServiceHandlers<typeof echo.EchoService.method> = {
      echo: (call, callback) => callback(null, reply(echo.EchoResponseSchema, { text: call.request.text })),
      echoEach: (call) => {
        for (const text of call.request.texts) call.write(reply(echo.EchoEachResponseSchema, { text }));
        call.end();
      },
      echoJoin: (call, callback) => call.on('end', () => callback(null, reply(echo.EchoJoinResponseSchema, { text: 'joined' }))).resume(),
      echoChat: (call) => {
        call.on('data', (request: echo.EchoChatRequest) => call.write(reply(echo.EchoChatResponseSchema, { text: `re:${request.text}` })));
        call.on('end', () => call.end());
      },
    };
    addService(server, echo.EchoService, guardHandlers(echo.EchoService, echoHandlers, guard, () => undefined));
    const v2Handlers = {
      heartbeat: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, reply(v2.HeartbeatResponseSchema, {})),
    } as unknown as ServiceHandlers<typeof v2.MessagingService.method>;
    addService(server, v2.MessagingService, guardHandlers(v2.MessagingService, v2Handlers, guard, () => undefined));
    const port = await listen(server, '127.0.0.1', 0);
    echoClient = createClient(echo.EchoService, `127.0.0.1:${port}`);
    v2Client = createClient(v2.MessagingService, `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    echoClient.close();
    v2Client.close();
    await shutdownServer(server, 1_000);
  });

  const pass = () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-pass', 'yes');
    return { metadata };
  };

  it('lets a unary call through when the guard passes and shows the guard the method and request', async () => {
    expect((await echoClient.echo({ text: 'hi' }, pass())).text).toBe('hi');
    expect(seen.at(-1)).toMatchObject({ method: 'Echo', kind: 'unary', request: { text: 'hi' } });
  });

  it('refuses a unary call of an internal service with a gRPC status and the stable code', async () => {
    const error = await echoClient.echo({ text: 'hi' }).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(errorCodeOf(error)).toBe('UNAUTHORIZED');
  });

  it('refuses server-streaming and bidi calls before their handler runs', async () => {
    const stream = echoClient.echoEach({ texts: ['a', 'b'] });
    const received: unknown[] = [];
    stream.on('data', (m) => received.push(m));
    const code = await new Promise<number>((resolve) => stream.on('error', (e: grpc.ServiceError) => resolve(e.code)));
    expect(code).toBe(grpc.status.UNAUTHENTICATED);
    expect(received).toEqual([]);

    const chat = echoClient.echoChat();
    const chatCode = new Promise<number>((resolve) => chat.on('error', (e: grpc.ServiceError) => resolve(e.code)));
    chat.write(reply(echo.EchoChatRequestSchema, { text: 'x' }));
    expect(await chatCode).toBe(grpc.status.UNAUTHENTICATED);
    expect(seen.at(-1)).toMatchObject({ method: 'EchoChat', kind: 'bidi_streaming' });

    const chatOk = echoClient.echoChat(pass());
    const first = new Promise((resolve) => chatOk.once('data', resolve));
    chatOk.write(reply(echo.EchoChatRequestSchema, { text: 'x' }));
    expect(await first).toMatchObject({ text: 're:x' });
    chatOk.end();
  });

  it('answers a refused MessagingService call in-band, in the reply status, as the official clients expect', async () => {
    const response = await v2Client.heartbeat({});
    expect(response.status?.code).toBe(v2.Code.UNAUTHORIZED);
    expect(response.status?.message).toBe('not authenticated: no pass');
    expect((await v2Client.heartbeat({}, pass())).status).toBeUndefined();
  });
});
