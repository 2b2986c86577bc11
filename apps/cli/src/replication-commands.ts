// rmq replication status: every replica group as the leading controller sees it.
import { Option, type Command } from 'commander';
import { ControllerClient } from '@rmq/client';
import { channelCredentials, controller, signedMetadata, type PeerLink } from '@rmq/contracts';
import { describeCallError, isServiceError } from './call';
import { CliError } from './cli-error';
import { clientTls, credentialsFromEnv } from './credentials';
import { jsonText } from './format';
import type { Io } from './io';
import { jsonOption, parseAddress, timeoutOption, type CallOptions, type OutputOptions } from './options';
import { replicationStatusText } from './replication-format';

export const DEFAULT_CONTROLLER = '127.0.0.1:9878';

interface ControllerCallOptions extends CallOptions {
  controller: string[];
}

function controllerOption(): Option {
  return new Option('-c, --controller <host:port,...>', 'gRPC addresses of the controllers (any of them; the leader is found)')
    .env('RMQ_CONTROLLER')
    .default([DEFAULT_CONTROLLER], DEFAULT_CONTROLLER)
    .argParser((text: string) => text.split(',').map((part) => parseAddress(part.trim())))
    .helpGroup('Connection options:');
}

export function registerReplicationCommands(program: Command, io: Io): void {
  const replication = program.command('replication').description('see replica groups as the controller sees them');

  replication
    .command('status')
    .description('every broker group: master, epoch, in-sync set, and each broker\'s last heartbeat, role and offsets')
    .addOption(jsonOption())
    .addOption(controllerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq replication status\n  rmq replication status --controller 10.0.0.1:9878,10.0.0.2:9878 --json')
    .action(async (options: ControllerCallOptions & OutputOptions) => {
      const credentials = credentialsFromEnv();
      const tls = clientTls();
      const peer: PeerLink = { credentials: () => channelCredentials(tls), metadata: () => signedMetadata(credentials, io.nowMs()) };
      const client = new ControllerClient(options.controller, { callTimeoutMs: options.timeoutMs, peer });
      try {
        const reply = await client.call((service, callOptions) => service.listReplicaGroups({}, callOptions));
        const leader = client.leader() ?? options.controller.join(',');
        io.out(options.json ? jsonText(controller.ListReplicaGroupsResponseSchema, reply) : replicationStatusText(reply, leader, io.nowMs()));
      } catch (error) {
        if (!isServiceError(error)) throw error;
        const target = { what: 'cannot read the replication status', role: 'controller', address: options.controller.join(','), timeoutMs: options.timeoutMs };
        throw new CliError(describeCallError(error, target));
      } finally {
        client.close();
      }
    });
}
