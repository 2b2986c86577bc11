// Every knob of the metrics app, declared once (flags, RMQ_* env, defaults, --help).
import { ConfigError, type ConfigOf, type Schema } from '@rmq/config';

export const metricsOptions = {
  httpListen: { type: 'hostPort', help: 'where /metrics, /health and /api/cluster listen (port 0 picks a free port)', default: '127.0.0.1:7070' },
  nameServers: { type: 'hostPortList', help: 'name servers as host:port, comma-separated; the first that answers is used', default: '127.0.0.1:9876' },
  clusterName: { type: 'string', default: 'DefaultCluster', help: 'cluster name on this app\'s metrics (the cluster label, as on the brokers\' series)' },
  pollIntervalMs: { type: 'int', help: 'pause between two polls of the cluster', default: 5_000, min: 50, max: 3_600_000 },
  rpcTimeoutMs: { type: 'int', help: 'deadline of every call to a name server or broker', default: 3_000, min: 10, max: 60_000 },
  tlsCaFile: { type: 'string', help: 'PEM CA to trust: call name servers and brokers over TLS; empty for plaintext', default: '' },
  accessKey: { type: 'string', help: 'user to call brokers as when they run with --auth (with --secret-file)', default: '' },
  secretFile: { type: 'string', help: 'file (mode 0600) with the secret of --access-key', default: '' },
  logLevel: { type: 'enum', help: 'least important log level written', default: 'info', values: ['debug', 'info', 'warn', 'error'] },
} as const satisfies Schema;

/** Rules the schema cannot express. */
export function checkMetricsOptions(config: ConfigOf<typeof metricsOptions>): void {
  if (config.nameServers.length === 0) throw new ConfigError('--name-servers needs at least one host:port');
  if (Boolean(config.accessKey) !== Boolean(config.secretFile)) throw new ConfigError('--access-key and --secret-file go together');
}
