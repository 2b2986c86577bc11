// Name server: brokers register their topic tables, role and epoch under a lease; producers,
// consumers and tools ask it for routes (RocketMQ 5 clients through MessagingService.QueryRoute). State is memory only: after a restart every broker re-registers
// within one heartbeat, so nothing is persisted.
import { tracing } from './tracing'; // first: see tracing.ts
import { systemClock } from '@rmq/base';
import { parseHostPort } from '@rmq/config';
import { addService, channelCredentials, createGrpcServer, guardHandlers, listen, namesrv, serverCredentials, shutdownServer, unaryHandlers, v2 } from '@rmq/contracts';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer } from '@rmq/observability';
import { RouteRegistry } from '@rmq/routing';
import { readNameServerConfig } from './cli-config';
import { accessPointService } from './access-point-service';
import { startLeaseExpiry } from './lease-expiry';
import { createNameServerMetrics } from './name-server-metrics';
import { nameServerService } from './name-server-service';
import { RecallRelay } from './recall-relay';
import { registrationGuard } from './registration-guard';

const GRPC_SHUTDOWN_GRACE_MS = 3_000;

async function main(): Promise<void> {
  const config = readNameServerConfig(process.argv.slice(2));
  const log = createLogger({ app: 'name-server' }, { level: config.logLevel });
  const clock = systemClock;

  // The state and its numbers.
  const routes = new RouteRegistry();
  const metricsRegistry = createRegistry({ cluster: config.clusterName, node_type: 'nameserver', node_id: config.listen });
  const metrics = createNameServerMetrics(metricsRegistry, routes);

  // gRPC: NameServerService for brokers and tools; MessagingService for clients using the name server as access point.
  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = createGrpcServer();
  const errorLog = (message: string, fields: Record<string, unknown>) => log.error(message, fields);
  const guard = config.clusterSecret
    ? registrationGuard({ clusterSecret: config.clusterSecret, clock, clockSkewMsMax: config.clockSkewMs, log })
    : undefined;
  const handlers = unaryHandlers(nameServerService({ routes, clock, log, metrics }), errorLog);
  addService(grpcServer, namesrv.NameServerService, guardHandlers(namesrv.NameServerService, handlers, guard, errorLog));
  // RecallMessage goes on to the brokers' client ports: over TLS with --tls-ca-file, as the brokers call each other.
  const recalls = new RecallRelay({ routes, log, credentials: () => channelCredentials(config.tls.client) });
  addService(grpcServer, v2.MessagingService, accessPointService({ routes, log, metrics, recalls }));
  if (config.clusterSecret) log.info('registration needs the cluster secret');
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port, serverCredentials(config.tls.server));
  metricsRegistry.setDefaultLabels({ cluster: config.clusterName, node_type: 'nameserver', node_id: `${grpcAddress.host}:${grpcPort}` });

  // Leases.
  const expiry = startLeaseExpiry({ routes, clock, intervalMs: config.expireIntervalMs, log, metrics });

  // HTTP: /health and /metrics.
  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry: metricsRegistry, health: () => [] });

  onShutdown(log, async () => {
    expiry.stop();
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    recalls.close();
    await http.close();
    await tracing.shutdown(); // sends the spans still buffered
  });
  log.info('tracing', { traces: tracing.description });
  announceReady(log, { grpc: `${grpcAddress.host}:${grpcPort}`, http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`name-server failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
