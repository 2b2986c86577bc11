// rmq cluster status: the live brokers a name server knows, as a table.
import type { Command } from 'commander';
import { namesrv } from '@rmq/contracts';
import { callOnce } from './call';
import { clusterText, jsonText } from './format';
import type { Io } from './io';
import { jsonOption, nameServerOption, timeoutOption, type NameServerCallOptions, type OutputOptions } from './options';

export function registerClusterCommands(program: Command, io: Io): void {
  const cluster = program.command('cluster').description('see the cluster as a name server sees it');

  cluster
    .command('status')
    .description('list the live brokers registered with a name server: identity, endpoint, permissions, topics, last heartbeat')
    .addOption(jsonOption())
    .addOption(nameServerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq cluster status\n  rmq cluster status --name-server 10.0.0.2:9876 --json')
    .action(async (options: NameServerCallOptions & OutputOptions) => {
      const target = { what: 'cannot read the cluster status', role: 'name server', address: options.nameServer, timeoutMs: options.timeoutMs };
      const reply = await callOnce(namesrv.NameServerService, target, (client, deadline) => client.getClusterInfo({}, deadline));
      io.out(options.json ? jsonText(namesrv.GetClusterInfoResponseSchema, reply) : clusterText(reply, options.nameServer, io.nowMs()));
    });
}
