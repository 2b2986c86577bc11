// rmq broker status: one broker's identity, role, epoch and log positions.
import type { Command } from 'commander';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { brokerStatusText, jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, timeoutOption, type BrokerCallOptions, type OutputOptions } from './options';

export function registerBrokerCommands(program: Command, io: Io): void {
  const broker = program.command('broker').description('inspect one broker');

  broker
    .command('status')
    .description("show a broker's identity, role (master or slave), epoch, log end and confirmed offsets, flush mode")
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq broker status\n  rmq broker status --broker 127.0.0.1:8091 --json')
    .action(async (options: BrokerCallOptions & OutputOptions) => {
      const target = { what: 'cannot read the broker status', role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
      const reply = await callOnce(admin.AdminService, target, (client, deadline) => client.getBrokerStatus({}, deadline));
      io.out(options.json ? jsonText(admin.GetBrokerStatusResponseSchema, reply) : brokerStatusText(reply, options.broker));
    });
}
