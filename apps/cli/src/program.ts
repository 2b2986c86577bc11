// The rmq command tree and the one place that turns how a run ended into an exit code:
// 0 done (help and --version included), 1 a call failed, 2 the command line was wrong.
import { Command, CommanderError, Option } from 'commander';
import packageJson from '../package.json';
import { registerBenchCommand } from './bench/bench-command';
import { registerAccessCommands } from './access-commands';
import { registerBrokerCommands } from './broker-commands';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './cli-error';
import { registerClusterCommands } from './cluster-commands';
import { readClientTls, useClientTls, type TlsFileOptions } from './credentials';
import { registerGroupCommands } from './group-commands';
import type { Io } from './io';
import { registerMessageCommands } from './message-commands';
import { registerReplicationCommands } from './replication-commands';
import { registerTopicCommands } from './topic-commands';
import { registerTransactionCommands } from './transaction-commands';

const EXAMPLES = `
Examples:
  rmq topic create TestTopic            create a topic on the local broker (127.0.0.1:8081)
  rmq topic show TestTopic --json       its queues and offsets, as JSON
  rmq group create G --max-attempts 3   a consumer group with its own retry settings
  rmq cluster status                    live brokers, as the name server sees them
  rmq broker status --broker host:8081  one broker's role, epoch and log positions
  rmq message send TestTopic hello      send a message; rmq message receive TestTopic -g G reads
  rmq message send Later hi --delay 10s a delay message; rmq message recall <handle> cancels it
  rmq transaction list OrderTopic       open transactions of a topic
  rmq replication status                replica groups as the controller sees them
  rmq bench --durability sync           produce, consume and end-to-end latency of the broker

Every option can also come from the environment: RMQ_BROKER, RMQ_NAME_SERVER, RMQ_CONTROLLER, RMQ_TIMEOUT_MS,
RMQ_TLS_CA_FILE, RMQ_TLS_CERT_FILE, RMQ_TLS_KEY_FILE.
With auth on, calls are signed as RMQ_ACCESS_KEY with the secret in RMQ_SECRET_FILE (or RMQ_SECRET_KEY).
Over TLS: --tls-ca-file ca.crt; with mutual TLS (apps with --tls-client-ca-file) also
--tls-cert-file rmq.crt --tls-key-file rmq.key (the key file of mode 0600).
Exit codes: 0 done, 1 the call failed, 2 the command line was wrong.
For the options of a command: rmq <command> <subcommand> --help (for example rmq topic create --help).`;

const TLS_GROUP = 'TLS options (any command):';

export function buildProgram(io: Io): Command {
  const program = new Command('rmq')
    .description('Administer an rmq cluster (RocketMQ 5 compatible): topics, consumer groups, brokers, name servers, messages.')
    .version(packageJson.version, '-V, --version', 'print the version of rmq')
    .helpOption('-h, --help', 'show help for the command')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option('--tls-ca-file <pem>', 'call over TLS, trusting this PEM CA (without it, and without --tls-cert-file: plaintext)').env('RMQ_TLS_CA_FILE').helpGroup(TLS_GROUP))
    .addOption(new Option('--tls-cert-file <pem>', 'mutual TLS: PEM certificate chain this CLI presents (with --tls-key-file)').env('RMQ_TLS_CERT_FILE').helpGroup(TLS_GROUP))
    .addOption(new Option('--tls-key-file <pem>', 'mutual TLS: PEM private key of --tls-cert-file (mode 0600)').env('RMQ_TLS_KEY_FILE').helpGroup(TLS_GROUP))
    .hook('preAction', (_program, action) => useClientTls(readClientTls(action.optsWithGlobals<TlsFileOptions>())))
    .addHelpText('after', EXAMPLES);
  registerTopicCommands(program, io);
  registerGroupCommands(program, io);
  registerClusterCommands(program, io);
  registerBrokerCommands(program, io);
  registerMessageCommands(program, io);
  registerTransactionCommands(program, io);
  registerReplicationCommands(program, io);
  registerBenchCommand(program, io);
  registerAccessCommands(program, io);
  return program;
}

/** Runs one command line (without `node` and the script path) and returns the exit code. */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...args], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    // Commander has already printed its message (usage error) or the help text.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (error instanceof CliError) {
      io.err(`error: ${error.message}`);
      return error.exitCode;
    }
    io.err(`error: unexpected failure, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT_FAILED;
  }
}
