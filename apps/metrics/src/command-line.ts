// Reading the configuration at start: --help prints the options; a bad option is a usage error
// (message on stderr, exit code 2) rather than a stack trace.
import { ConfigError, describeOptions, loadConfig, type ConfigOf, type Schema } from '@rmq/config';

export const EXIT_USAGE = 2;

/** `check` may throw a ConfigError for rules the schema cannot express (a list of addresses). */
export function readConfig<S extends Schema>(
  schema: S,
  app: string,
  check: (config: ConfigOf<S>) => void = () => undefined,
  argv: readonly string[] = process.argv.slice(2),
): ConfigOf<S> {
  if (argv.includes('--help')) {
    process.stdout.write(`usage: ${app} [options]\n\n${describeOptions(schema)}\n`);
    process.exit(0);
  }
  try {
    const config = loadConfig(schema, argv);
    check(config);
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${app}: ${error.message}\n(see ${app} --help)\n`);
    process.exit(EXIT_USAGE);
  }
}
