// The replication controller: per broker group, the master, its epoch and the in-sync set.
import { tracing } from './tracing'; // first: see tracing.ts
import * as grpc from '@grpc/grpc-js';
import { systemClock } from '@rmq/base';
import { parseHostPort, readConfigOrExit } from '@rmq/config';
import { addService, controller, listen, shutdownServer, unaryHandlers } from '@rmq/contracts';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { controllerService } from './controller-service';
import { registerControllerMetrics } from './controller-metrics';
import { GRPC_SHUTDOWN_GRACE_MS } from './limits';
import { replicationOptions } from './options';
import { ReplicaController } from './replica-controller';
import { StateFile } from './state-file';

async function main(): Promise<void> {
  const config = readConfigOrExit(replicationOptions, 'replication');
  const log = createLogger({ app: 'replication' }, { level: config.logLevel as LogLevel });

  const stateFile = new StateFile(config.dataDir);
  const replicaController = await ReplicaController.open({
    store: stateFile,
    clock: systemClock,
    replicaTimeoutMs: config.replicaTimeoutMs,
    log,
    onInvariantBroken: (error) => {
      log.error('invariant broken; stopping so a restart recovers from the state file', { error });
      process.exit(1);
    },
  });
  log.info('state loaded', { path: stateFile.path, groups: replicaController.groups().length });

  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = new grpc.Server();
  addService(grpcServer, controller.ControllerService, unaryHandlers(controllerService(replicaController), log.error));
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port);
  const grpcEndpoint = `${grpcAddress.host}:${grpcPort}`;

  const registry = createRegistry({ app: 'replication' });
  registerControllerMetrics(registry, replicaController, grpcEndpoint);
  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry, health: () => [] });

  const scanner = setInterval(() => {
    replicaController.scan().catch((error: unknown) => log.error('scan failed', { error }));
  }, config.scanIntervalMs);

  onShutdown(log, async () => {
    clearInterval(scanner);
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    await replicaController.flush();
    await http.close();
    await tracing.shutdown(); // sends the spans still buffered
  });
  log.info('tracing', { traces: tracing.description });
  announceReady(log, { grpc: grpcEndpoint, http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`replication failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
