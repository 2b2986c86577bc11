// The replication controller: per broker group, the master, its epoch and the in-sync set.
// One controller keeps its state in a file (the default); with --etcd, several controllers share
// it in etcd and the one elected through etcd leads while the others redirect to it.
import { tracing } from './tracing'; // first: see tracing.ts
import { systemClock } from '@rmq/base';
import { ConfigError, parseHostPort, readConfigOrExit, readSecretFile, readTlsFiles, type TlsFiles } from '@rmq/config';
import { addService, clusterSecretGuard, controller, createGrpcServer, guardHandlers, listen, serverCredentials, shutdownServer, unaryHandlers, type CallGuard } from '@rmq/contracts';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { controllerService } from './controller-service';
import { registerControllerMetrics } from './controller-metrics';
import { connectEtcd, EtcdLeadership, EtcdStateStore } from './etcd-state';
import { GRPC_SHUTDOWN_GRACE_MS } from './limits';
import { replicationOptions } from './options';
import { ReplicaController } from './replica-controller';
import { FileStateStore } from './state-file';
import { SoleLeadership, type Leadership, type StateStore } from './state-store';

/** What only brokers may call (with --cluster-secret-file); the views stay open, as route queries do. */
const BROKER_METHODS = new Set(['BrokerHeartbeat', 'AlterInSyncSet']);

async function main(): Promise<void> {
  let tls: TlsFiles = {};
  let clusterSecret = '';
  const config = readConfigOrExit(replicationOptions, 'replication', {
    check: (options) => {
      tls = readTlsFiles(options);
      if (options.clusterSecretFile) clusterSecret = readSecretFile(options.clusterSecretFile, '--cluster-secret-file');
      if (options.etcd.length === 0 && options.dataDir === '') throw new ConfigError('--data-dir is required unless --etcd is given');
      if (options.heartbeatIntervalMs * 2 > options.brokerTimeoutMs) {
        throw new ConfigError(`--broker-timeout-ms (${options.brokerTimeoutMs}) must be at least twice --heartbeat-interval-ms (${options.heartbeatIntervalMs})`);
      }
    },
  });
  const log = createLogger({ app: 'replication' }, { level: config.logLevel as LogLevel });

  // Serve first: the endpoint is this controller's id and what it campaigns with.
  const grpcAddress = parseHostPort(config.listen, '--listen');
  const grpcServer = createGrpcServer();
  const grpcPort = await listen(grpcServer, grpcAddress.host, grpcAddress.port, serverCredentials(tls.server));
  const endpoint = config.advertise || `${grpcAddress.host}:${grpcPort}`;

  let store: StateStore;
  let leadership: Leadership;
  let closeEtcd = () => undefined as void;
  if (config.etcd.length > 0) {
    const client = connectEtcd(config.etcd);
    const etcdLeadership = new EtcdLeadership(client, config.etcdPrefix, endpoint, log);
    store = new EtcdStateStore(client, config.etcdPrefix, etcdLeadership);
    leadership = etcdLeadership;
    closeEtcd = () => client.close();
  } else {
    store = new FileStateStore(config.dataDir);
    leadership = new SoleLeadership(endpoint);
  }

  const replicaController = new ReplicaController({
    controllerId: endpoint,
    store,
    leadership,
    clock: systemClock,
    policy: { brokerTimeoutMs: config.brokerTimeoutMs, uncleanElectionAllowed: config.uncleanElection },
    log,
    onFatal: (error) => {
      log.error('stopping: the controller cannot go on safely; a restart recovers from the committed state', { error: error.stack ?? String(error) });
      process.exit(1);
    },
  });

  const registry = createRegistry({ cluster: config.clusterName, node_type: 'controller', node_id: endpoint });
  const observeRequest = registerControllerMetrics(registry, replicaController, endpoint);
  // A stranger's heartbeat could be elected master: with a secret, only brokers holding it change state.
  const audit = log.child({ component: 'audit' });
  const guard: CallGuard | undefined = clusterSecret
    ? clusterSecretGuard({ clusterSecret, methods: BROKER_METHODS, clock: systemClock, clockSkewMsMax: config.clockSkewMs,
        onRefused: (call, problem, reason) => audit.warn('access refused', { method: call.method, code: 'UNAUTHORIZED', problem, peer: call.peer, reason }) })
    : undefined;
  addService(grpcServer, controller.ControllerService, guardHandlers(controller.ControllerService, unaryHandlers(controllerService({
    replicaController, leadership, store, controllerId: endpoint, endpoint, observeRequest,
    heartbeatIntervalMs: config.heartbeatIntervalMs, brokerTimeoutMs: config.brokerTimeoutMs,
  }), log.error), guard, log.error));
  if (clusterSecret) log.info('broker heartbeats and in-sync set changes need the cluster secret');
  await leadership.start(replicaController);

  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({ host: httpAddress.host, port: httpAddress.port, registry, health: () => [] });

  const scanner = setInterval(() => {
    replicaController.scan().catch((error: unknown) => log.debug('scan skipped', { error: String(error) }));
  }, config.scanIntervalMs);

  onShutdown(log, async () => {
    clearInterval(scanner);
    await shutdownServer(grpcServer, GRPC_SHUTDOWN_GRACE_MS);
    await leadership.close();
    await store.close();
    closeEtcd();
    await http.close();
    await tracing.shutdown(); // sends the spans still buffered
  });
  log.info('tracing', { traces: tracing.description });
  announceReady(log, { grpc: endpoint, http: `${httpAddress.host}:${http.port}`, store: store.kind });
}

main().catch((error: unknown) => {
  process.stderr.write(`replication failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
