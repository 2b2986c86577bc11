// Reading the configuration at start: --help prints the options; a bad option is a usage error
// (message on stderr, exit code 2) rather than a stack trace.
import { ConfigError, describeOptions, loadConfig, type ConfigOf, type Schema } from '@rmq/config';

export const EXIT_USAGE = 2;

export function readConfig<S extends Schema>(schema: S, app: string, argv: readonly string[] = process.argv.slice(2)): ConfigOf<S> {
  if (argv.includes('--help')) {
    process.stdout.write(`usage: ${app} [options]\n\n${describeOptions(schema)}\n`);
    process.exit(0);
  }
  try {
    return loadConfig(schema, argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${app}: ${error.message}\n(see ${app} --help)\n`);
    process.exit(EXIT_USAGE);
  }
}
