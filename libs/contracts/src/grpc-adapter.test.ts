import * as grpc from '@grpc/grpc-js';
import { RmqError } from '@rmq/base';
import { addService, createClient, isRetryableElsewhere, listen, reply, shutdownServer } from './grpc-adapter';
import { unaryHandlers } from './handlers';
import { errorCodeOf } from './status';
import * as echo from './gen/rmq/echo/v1/echo_pb';

describe('grpc-js adapter over a generated service', () => {
  let server: grpc.Server;
  let client: ReturnType<typeof createClient<typeof echo.EchoService.method>>;
  const errors: unknown[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    const unary = unaryHandlers<typeof echo.EchoService.method>(
      {
        echo: async (request) => {
          if (request.text === 'fail') throw new RmqError('BAD_REQUEST', { reason: 'you asked for it' });
          if (request.text === 'crash') throw new Error('secret internals');
          return reply(echo.EchoResponseSchema, { text: request.text.toUpperCase() });
        },
      },
      (_message, fields) => errors.push(fields),
    );
    addService(server, echo.EchoService, {
      echo: unary.echo,
      echoEach: (call) => {
        for (const text of call.request.texts) call.write(reply(echo.EchoEachResponseSchema, { text }));
        call.end();
      },
      echoJoin: (call, callback) => {
        const texts: string[] = [];
        call.on('data', (request: echo.EchoJoinRequest) => texts.push(request.text));
        call.on('end', () => callback(null, reply(echo.EchoJoinResponseSchema, { text: texts.join('+') })));
      },
      echoChat: (call) => {
        call.on('data', (request: echo.EchoChatRequest) => call.write(reply(echo.EchoChatResponseSchema, { text: `re:${request.text}` })));
        call.on('end', () => call.end());
      },
    });
    const port = await listen(server, '127.0.0.1', 0);
    client = createClient(echo.EchoService, `127.0.0.1:${port}`);
  });

  afterAll(async () => {
    client.close();
    await shutdownServer(server, 1_000);
  });

  it('calls a unary method with a plain init object and gets a typed reply', async () => {
    expect((await client.echo({ text: 'hi' }, { deadlineMs: 2_000 })).text).toBe('HI');
  });

  it('maps an RmqError to a gRPC status with the stable code in metadata', async () => {
    const error = await client.echo({ text: 'fail' }).catch((e: grpc.ServiceError) => e);
    expect(error).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: 'you asked for it' });
    expect(errorCodeOf(error)).toBe('BAD_REQUEST');
  });

  it('hides an unexpected error behind INTERNAL with an error id, and logs the stack', async () => {
    const error = (await client.echo({ text: 'crash' }).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toMatch(/^internal error [0-9a-f-]{36}; the broker log has the details$/);
    expect(error.details).not.toContain('secret');
    expect(JSON.stringify(errors)).toContain('secret internals');
  });

  it('reads a server stream with for await', async () => {
    const texts: string[] = [];
    for await (const response of client.echoEach({ texts: ['a', 'b', 'c'] })) texts.push((response as echo.EchoEachResponse).text);
    expect(texts).toEqual(['a', 'b', 'c']);
  });

  it('writes a client stream and gets one reply', async () => {
    const { stream, reply: joined } = client.echoJoin();
    for (const text of ['x', 'y']) stream.write(reply(echo.EchoJoinRequestSchema, { text }));
    stream.end();
    expect((await joined).text).toBe('x+y');
  });

  it('talks both ways on a bidi stream', async () => {
    const chat = client.echoChat();
    const answers: string[] = [];
    const done = new Promise<void>((resolve) => chat.on('end', resolve));
    chat.on('data', (response: echo.EchoChatResponse) => answers.push(response.text));
    chat.write(reply(echo.EchoChatRequestSchema, { text: 'one' }));
    chat.write(reply(echo.EchoChatRequestSchema, { text: 'two' }));
    chat.end();
    await done;
    expect(answers).toEqual(['re:one', 're:two']);
  });

  it('deems a call that reached no server worth trying elsewhere, not one the server refused, cancelled or past its deadline', async () => {
    const nowhere = createClient(echo.EchoService, '127.0.0.1:1'); // nothing listens on port 1
    try {
      const unreachable = await nowhere.echo({ text: 'hi' }, { deadlineMs: 5_000 }).catch((error: unknown) => error);
      expect(unreachable).toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(isRetryableElsewhere(unreachable)).toBe(true);
    } finally {
      nowhere.close();
    }
    const refused = await client.echo({ text: 'fail' }, { deadlineMs: 2_000 }).catch((error: unknown) => error);
    expect(isRetryableElsewhere(refused)).toBe(false);
    const aborted = new AbortController();
    const cancelled = client.echo({ text: 'hi' }, { deadlineMs: 2_000, signal: aborted.signal }).catch((error: unknown) => error);
    aborted.abort();
    expect(await cancelled).toMatchObject({ code: grpc.status.CANCELLED });
    expect(isRetryableElsewhere(await cancelled)).toBe(false);
    expect(isRetryableElsewhere({ code: grpc.status.DEADLINE_EXCEEDED })).toBe(false);
    expect(isRetryableElsewhere(undefined)).toBe(false);
  });
});
