import { createServer, type Server, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { addService, listen, namesrv, reply, shutdownServer, unaryHandlers } from '@rmq/contracts';
import { createLogger } from '@rmq/observability';
import { RouteResolver } from './route-resolver';

const log = createLogger({ test: 'route-resolver' }, { level: 'error' });

/** A name server that routes every topic to one broker. */
async function liveNameServer(): Promise<{ address: string; server: grpc.Server }> {
  const server = new grpc.Server();
  const route = (topic: string) =>
    reply(namesrv.GetTopicRouteResponseSchema, {
      topic,
      queues: [{ brokerName: 'broker-b', readQueueCount: 4, writeQueueCount: 4, perm: 6, messageType: namesrv.TopicMessageType.NORMAL }],
      brokers: [{ broker: { clusterName: 'c', brokerName: 'broker-b', brokerId: 0n }, endpoint: '127.0.0.1:1234', zone: '' }],
    });
  addService(server, namesrv.NameServerService, unaryHandlers<typeof namesrv.NameServerService.method>({
    registerBroker: async () => reply(namesrv.RegisterBrokerResponseSchema, {}),
    unregisterBroker: async () => reply(namesrv.UnregisterBrokerResponseSchema, {}),
    getTopicRoute: async (request) => route(request.topic),
    getClusterInfo: async () => reply(namesrv.GetClusterInfoResponseSchema, {}),
  }, () => undefined));
  const port = await listen(server, '127.0.0.1', 0);
  return { address: `127.0.0.1:${port}`, server };
}

/** Accepts TCP connections and never answers: a name server that hangs. `close` also drops the connections it holds. */
async function hangingNameServer(): Promise<{ address: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  };
  return { address: `127.0.0.1:${(server.address() as { port: number }).port}`, close };
}

describe('RouteResolver', () => {
  it('asks name servers in parallel, answers within its bound when some hang, and from its cache when none answers', async () => {
    const [hangingA, hangingB, live] = await Promise.all([hangingNameServer(), hangingNameServer(), liveNameServer()]);
    const self = { clusterName: 'C', brokerName: 'broker-a', brokerId: 0, endpoint: '127.0.0.1:1', zone: '', perm: () => 6, role: () => 'master' as const, epoch: () => 1 };
    const resolver = new RouteResolver([hangingA.address, hangingB.address, live.address], self, log);
    try {
      let startedMs = performance.now();
      const route = await resolver.resolve('Orders', undefined);
      expect(route?.brokers.map((broker) => broker.identity.brokerName)).toEqual(['broker-b']);
      expect(performance.now() - startedMs).toBeLessThan(1_400); // did not wait for the hanging ones

      await shutdownServer(live.server, 100);
      startedMs = performance.now();
      expect((await resolver.resolve('Orders', undefined))?.brokers.map((broker) => broker.identity.brokerName)).toEqual(['broker-b']);
      const elapsedMs = performance.now() - startedMs;
      expect(elapsedMs).toBeLessThan(2_500); // under the official client's 3 s request timeout
      expect(await resolver.resolve('Unknown', undefined)).toBeUndefined();
    } finally {
      resolver.close();
      hangingA.close();
      hangingB.close();
    }
  }, 20_000);
});
