// The small HTTP side of every app: /health (200 when the app has no problem, 503 with the
// problems), /live (200 while the process answers: for liveness probes, since restarting an app
// whose peer is gone helps nothing), /metrics for Prometheus, and any extra routes an app adds
// (the metrics app's console, for one).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type Route = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Returns problems that make the app unhealthy; an empty list means healthy. */
  health: () => string[];
  routes?: Record<string, Route>;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const routes: Record<string, Route> = {
    '/health': (_req, res) => {
      const problems = options.health();
      res.writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: problems.length === 0 ? 'ok' : 'unhealthy', problems }));
    },
    '/live': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'live' }));
    },
    '/metrics': async (_req, res) => {
      const body = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType });
      res.end(body);
    },
    ...options.routes,
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes[path];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no such page: ${path}\n`);
      return;
    }
    Promise.resolve(route(req, res)).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
