// rmq broker status|permission: one broker's identity, role, epoch and log positions; its permission.
import { Argument, type Command } from 'commander';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { brokerPermissionText, brokerStatusText, jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, PERMISSIONS, timeoutOption, type BrokerCallOptions, type OutputOptions, type PermissionName } from './options';

export function registerBrokerCommands(program: Command, io: Io): void {
  const broker = program.command('broker').description('inspect one broker and set its permission');

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

  broker
    .command('permission')
    .description('set what the whole broker allows: read (drain it: no new messages), write, or read-write')
    .addArgument(new Argument('<permission>', 'the new permission').choices(Object.keys(PERMISSIONS)))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq broker permission read        # before maintenance: producers move to other brokers\n  rmq broker permission read-write')
    .addOption(jsonOption())
    .action(async (permission: PermissionName, options: BrokerCallOptions & OutputOptions) => {
      const target = { what: 'cannot set the broker permission', role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
      const reply = await callOnce(admin.AdminService, target, (client, deadline) => client.setBrokerPermission({ perm: PERMISSIONS[permission] }, deadline));
      io.out(options.json ? jsonText(admin.SetBrokerPermissionResponseSchema, reply) : brokerPermissionText(reply, options.broker));
    });
}
