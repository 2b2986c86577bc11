// The metrics app: polls the cluster and shows cluster-wide views on /metrics and /api/cluster.
import { tracing } from './tracing'; // first: see tracing.ts
import { systemClock } from '@rmq/base';
import { readFileSync } from 'node:fs';
import { parseHostPort, readConfigOrExit, readSecretFile } from '@rmq/config';
import { channelCredentials } from '@rmq/contracts';
import { announceReady, createLogger, createRegistry, onShutdown, startHttpServer, type LogLevel } from '@rmq/observability';
import { clusterApiRoute } from './cluster-api';
import { consolePageRoute } from './console-page';
import { registerClusterMetrics } from './cluster-metrics';
import { ClusterPoller } from './cluster-poller';
import type { ClusterSnapshot } from './cluster-snapshot';
import { checkMetricsOptions, metricsOptions } from './options';
import { startPolling } from './poll-loop';

async function main(): Promise<void> {
  let secret = '';
  const config = readConfigOrExit(metricsOptions, 'metrics', {
    check: (options) => {
      checkMetricsOptions(options);
      if (options.secretFile) secret = readSecretFile(options.secretFile, '--secret-file');
    },
  });
  const caPem = config.tlsCaFile ? readFileSync(config.tlsCaFile) : undefined;
  const log = createLogger({ app: 'metrics' }, { level: config.logLevel as LogLevel });

  const registry = createRegistry({ cluster: config.clusterName, node_type: 'metrics', node_id: config.httpListen });
  const clusterMetrics = registerClusterMetrics(registry);
  const poller = new ClusterPoller({
    nameServers: config.nameServers,
    rpcTimeoutMs: config.rpcTimeoutMs,
    clock: systemClock,
    log,
    channelCredentials: caPem ? () => channelCredentials({ caPem }) : undefined,
    credentials: config.accessKey ? { accessKey: config.accessKey, secret } : undefined,
  });
  let latest: ClusterSnapshot | undefined;
  const polling = startPolling(
    (signal) => poller.poll(signal),
    config.pollIntervalMs,
    (snapshot) => {
      latest = snapshot;
      clusterMetrics.update(snapshot);
    },
    log,
  );

  const httpAddress = parseHostPort(config.httpListen, '--http-listen');
  const http = await startHttpServer({
    host: httpAddress.host,
    port: httpAddress.port,
    registry,
    health: () => [],
    routes: { '/': consolePageRoute(), '/api/cluster': clusterApiRoute(() => latest) },
  });
  registry.setDefaultLabels({ cluster: config.clusterName, node_type: 'metrics', node_id: `${httpAddress.host}:${http.port}` });

  onShutdown(log, async () => {
    await polling.stop();
    poller.close();
    await http.close();
    await tracing.shutdown(); // sends the spans still buffered
  });
  log.info('tracing', { traces: tracing.description });
  announceReady(log, { http: `${httpAddress.host}:${http.port}` });
}

main().catch((error: unknown) => {
  process.stderr.write(`metrics failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
