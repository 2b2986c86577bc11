import * as grpc from '@grpc/grpc-js';
import { addService, create, listen, v2 } from '@rmq/contracts';
import { Connections } from './connections';
import { RouteCache } from './route-cache';

describe('RouteCache', () => {
  let server: grpc.Server;
  let port: number;
  let queries = 0;

  beforeAll(async () => {
    server = new grpc.Server();
    // A real gRPC server that answers QueryRoute only (the rest is never called here).
    addService(server, v2.MessagingService, {
      queryRoute: (_call: unknown, callback: (error: null, reply: v2.QueryRouteResponse) => void) => {
        queries++;
        setTimeout(() => callback(null, create(v2.QueryRouteResponseSchema, {
          status: { code: v2.Code.OK },
          messageQueues: [{ id: 0, permission: v2.Permission.READ_WRITE, broker: { name: 'broker-a', endpoints: { addresses: [{ host: '127.0.0.1', port }] } } }],
        })), 20);
      },
    } as never);
    port = await listen(server, '127.0.0.1', 0);
  });

  afterAll(() => server.forceShutdown());

  it('asks once for many concurrent first lookups of a topic, and answers them all', async () => {
    const connections = new Connections({ namespace: '', zone: '' });
    const routes = new RouteCache(connections, [`127.0.0.1:${port}`], '');
    try {
      const answers = await Promise.all(Array.from({ length: 500 }, () => routes.brokers('T')));
      expect(queries).toBe(1);
      expect(answers.every((brokers) => brokers.length === 1 && brokers[0].writable && brokers[0].endpoint === `127.0.0.1:${port}`)).toBe(true);
      await routes.brokers('T');
      expect(queries).toBe(1); // cached
    } finally {
      connections.close();
    }
  });
});
