// The name server's options, declared once; --help prints them, a bad value stops the start
// with exit code 2 and a message that names the option.
import { readConfigOrExit, type ConfigOf } from '@rmq/config';
import type { LogLevel } from '@rmq/observability';

export const configSchema = {
  listen: { type: 'hostPort', default: '127.0.0.1:9876', help: 'address of the gRPC NameServerService (port 0 picks one)' },
  httpListen: { type: 'hostPort', default: '127.0.0.1:9877', help: 'address of /health and /metrics (port 0 picks one)' },
  clusterName: { type: 'string', default: 'DefaultCluster', help: 'cluster name on this app\'s metrics (the cluster label, as on the brokers\' series)' },
  expireIntervalMs: { type: 'int', default: 1000, min: 10, max: 60_000, help: 'how often brokers whose lease ran out are removed' },
  logLevel: { type: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'least severe level that is logged' },
} as const;

export type NameServerConfig = Omit<ConfigOf<typeof configSchema>, 'logLevel'> & { logLevel: LogLevel };

/** Parses argv and the environment, or prints why not (or the help) and exits. */
export function readNameServerConfig(argv: readonly string[]): NameServerConfig {
  const config = readConfigOrExit(configSchema, 'name-server', { argv });
  // loadConfig has checked the value against the enum's values.
  return { ...config, logLevel: config.logLevel as LogLevel };
}
