// The name server's options, declared once; --help prints them, a bad value stops the start
// with exit code 2 and a message that names the option.
import { readConfigOrExit, readSecretFile, readTlsFiles, tlsOptionsSchema, type ConfigOf, type TlsFiles } from '@rmq/config';
import type { LogLevel } from '@rmq/observability';

export const configSchema = {
  listen: { type: 'hostPort', default: '127.0.0.1:9876', help: 'address of the gRPC NameServerService (port 0 picks one)' },
  httpListen: { type: 'hostPort', default: '127.0.0.1:9877', help: 'address of /health and /metrics (port 0 picks one)' },
  clusterName: { type: 'string', default: 'DefaultCluster', help: 'cluster name on this app\'s metrics (the cluster label, as on the brokers\' series)' },
  expireIntervalMs: { type: 'int', default: 1000, min: 10, max: 60_000, help: 'how often brokers whose lease ran out are removed' },
  clusterSecretFile: { type: 'string', default: '', help: 'file (mode 0600) with the cluster\'s shared secret: only brokers that sign with it may register or unregister; empty for none' },
  clockSkewMs: { type: 'int', default: 300_000, min: 1_000, max: 3_600_000, help: 'how far a signed call\'s x-mq-date-time may be from this clock' },
  logLevel: { type: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'least severe level that is logged' },
  ...tlsOptionsSchema,
} as const;

export type NameServerConfig = Omit<ConfigOf<typeof configSchema>, 'logLevel'> & { logLevel: LogLevel; clusterSecret: string; tls: TlsFiles };

/** Parses argv and the environment, or prints why not (or the help) and exits. */
export function readNameServerConfig(argv: readonly string[]): NameServerConfig {
  let clusterSecret = '';
  let tls: TlsFiles = {};
  const config = readConfigOrExit(configSchema, 'name-server', {
    argv,
    check: (options) => {
      tls = readTlsFiles(options);
      if (options.clusterSecretFile) clusterSecret = readSecretFile(options.clusterSecretFile, '--cluster-secret-file');
    },
  });
  // loadConfig has checked the value against the enum's values.
  return { ...config, logLevel: config.logLevel as LogLevel, clusterSecret, tls };
}
