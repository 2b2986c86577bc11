// The name server's options, declared once; --help prints them, a bad value stops the start
// with exit code 2 and a message that names the option.
import { ConfigError, describeOptions, loadConfig, type ConfigOf } from '@rmq/config';
import type { LogLevel } from '@rmq/observability';

export const configSchema = {
  listen: { type: 'hostPort', default: '127.0.0.1:9876', help: 'address of the gRPC NameServerService (port 0 picks one)' },
  httpListen: { type: 'hostPort', default: '127.0.0.1:9877', help: 'address of /health and /metrics (port 0 picks one)' },
  expireIntervalMs: { type: 'int', default: 1000, min: 10, max: 60_000, help: 'how often brokers whose lease ran out are removed' },
  logLevel: { type: 'enum', default: 'info', values: ['debug', 'info', 'warn', 'error'], help: 'least severe level that is logged' },
} as const;

export type NameServerConfig = Omit<ConfigOf<typeof configSchema>, 'logLevel'> & { logLevel: LogLevel };

/** Parses argv and the environment, or prints why not (or the help) and exits. */
export function readConfigOrExit(argv: readonly string[]): NameServerConfig {
  if (argv.includes('--help')) {
    process.stdout.write(`Usage: name-server [options]\n\n${describeOptions(configSchema)}\n`);
    process.exit(0);
  }
  try {
    const config = loadConfig(configSchema, argv);
    // loadConfig has checked the value against the enum's values.
    return { ...config, logLevel: config.logLevel as LogLevel };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`name-server: ${error.message}\n`);
    process.exit(2);
  }
}
