import { connect, createServer, type Server, type Socket } from 'node:net';
import { alwaysFor, eventually } from './eventually';
import { startFaultProxy, type FaultProxy } from './fault-proxy';

/** An echo server on loopback. */
async function startEcho(): Promise<{ server: Server; address: string }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined); // the proxy resets it
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

function dial(address: string): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const [host, port] = address.split(':');
  const socket = connect({ host, port: Number(port) });
  let text = '';
  let closed = false;
  socket.on('data', (chunk) => (text += chunk.toString()));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  // A refused connection may close before (or instead of) connecting.
  return new Promise((resolve) => {
    const done = () => resolve({ socket, received: () => text, closed: () => closed });
    socket.once('connect', done);
    socket.once('close', done);
  });
}

describe('fault proxy', () => {
  let echo: { server: Server; address: string };
  let proxy: FaultProxy;

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy();
  });

  afterEach(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('refuses connections until it has an upstream, then passes bytes both ways', async () => {
    const early = await dial(proxy.address);
    await eventually(() => expect(early.closed()).toBe(true));
    proxy.setUpstream(echo.address);
    const client = await dial(proxy.address);
    client.socket.write('hello');
    await eventually(() => expect(client.received()).toBe('hello'));
    client.socket.destroy();
  });

  it('drop resets open connections and refuses new ones; pass heals', async () => {
    proxy.setUpstream(echo.address);
    const client = await dial(proxy.address);
    proxy.setMode('drop');
    await eventually(() => expect(client.closed()).toBe(true));
    const refused = await dial(proxy.address);
    await eventually(() => expect(refused.closed()).toBe(true));
    proxy.setMode('pass');
    const healed = await dial(proxy.address);
    healed.socket.write('again');
    await eventually(() => expect(healed.received()).toBe('again'));
    healed.socket.destroy();
  });

  it('blackhole keeps connections open but passes nothing; pass resets the connections that lost bytes', async () => {
    proxy.setUpstream(echo.address);
    const client = await dial(proxy.address);
    proxy.setMode('blackhole');
    client.socket.write('lost');
    const late = await dial(proxy.address); // accepted, silent
    late.socket.write('lost too');
    // The echo answers within milliseconds: nothing may come back for a while.
    await alwaysFor(() => expect([client.received(), late.received(), client.closed(), late.closed()]).toEqual(['', '', false, false]), { durationMs: 300 });
    expect(proxy.openConnections).toBe(2);
    proxy.setMode('pass');
    await eventually(() => expect([client.closed(), late.closed()]).toEqual([true, true]));
    const healed = await dial(proxy.address);
    healed.socket.write('back');
    await eventually(() => expect(healed.received()).toBe('back'));
    healed.socket.destroy();
  });

  it('says what is wrong with a bad upstream', async () => {
    expect(() => proxy.setUpstream('nowhere')).toThrow('fault proxy: upstream must be host:port, got "nowhere"');
  });
});
