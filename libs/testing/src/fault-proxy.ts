// A TCP proxy on loopback that injects network faults between two real processes: it passes
// bytes both ways until told to `drop` (every connection is reset and new ones are refused:
// the peer learns at once) or to `blackhole` (connections stay open and new ones are accepted,
// but no byte passes either way: the peer learns only from its own timeouts, as behind a cut
// cable). `pass` heals either fault: connections that lost bytes in a blackhole are reset then
// (a byte stream with a hole is useless), so peers reconnect through the healed proxy. The upstream may be set after the proxy listens, so a process can be told the
// proxy's address before its own port is known.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'drop' | 'blackhole';

export interface FaultProxy {
  /** host:port the proxy listens on: what the other side dials. */
  readonly address: string;
  /** Where bytes go (host:port); connections made before it is set are refused. */
  setUpstream(upstream: string): void;
  setMode(mode: FaultMode): void;
  readonly mode: FaultMode;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  close(): Promise<void>;
}

interface Pair {
  downstream: Socket;
  upstream: Socket;
}

export async function startFaultProxy(options: { upstream?: string; host?: string } = {}): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1';
  let upstream = options.upstream;
  let mode: FaultMode = 'pass';
  const pairs = new Set<Pair>();

  const server: Server = createServer({ pauseOnConnect: true }, (downstream) => {
    downstream.on('error', () => undefined); // a reset peer: the pair ends on 'close'
    if (mode === 'drop' || !upstream) {
      downstream.resetAndDestroy();
      return;
    }
    const [upstreamHost, upstreamPort] = splitHostPort(upstream);
    const pair: Pair = { downstream, upstream: connect({ host: upstreamHost, port: upstreamPort }) };
    pairs.add(pair);
    const end = () => {
      if (!pairs.delete(pair)) return;
      pair.downstream.destroy();
      pair.upstream.destroy();
    };
    for (const socket of [pair.downstream, pair.upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    pair.downstream.on('data', (chunk) => {
      if (mode === 'pass') pair.upstream.write(chunk);
    });
    pair.upstream.on('data', (chunk) => {
      if (mode === 'pass') pair.downstream.write(chunk);
    });
    downstream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    address: `${host}:${port}`,
    get mode() {
      return mode;
    },
    get openConnections() {
      return pairs.size;
    },
    setUpstream(value) {
      splitHostPort(value);
      upstream = value;
    },
    setMode(next) {
      const previous = mode;
      mode = next;
      if (next === 'blackhole' || (next === 'pass' && previous !== 'blackhole')) return;
      for (const pair of pairs) {
        pair.downstream.resetAndDestroy();
        pair.upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    async close() {
      for (const pair of pairs) {
        pair.downstream.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(value: string): [string, number] {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`fault proxy: upstream must be host:port, got ${JSON.stringify(value)}`);
  return [value.slice(0, at), port];
}
