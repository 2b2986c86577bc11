// rmq broker status|permission|role: one broker's identity, role, epoch and log positions; its
// permission; its role by hand (a manual failover while no controller decides roles).
import { Argument, Option, type Command } from 'commander';
import { admin, namesrv } from '@rmq/contracts';
import { callOnce } from './call';
import { brokerPermissionText, brokerRoleText, brokerStatusText, jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, parseEpoch, PERMISSIONS, timeoutOption, type BrokerCallOptions, type OutputOptions, type PermissionName } from './options';

export function registerBrokerCommands(program: Command, io: Io): void {
  const broker = program.command('broker').description('inspect one broker, set its permission or its role');

  broker
    .command('status')
    .description("show a broker's identity, role (master or slave), epoch, log offsets (written, durable, committed), flush mode, in-sync set and slaves' lag, or the master a slave follows")
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

  broker
    .command('role')
    .description('make a broker master of a new epoch, or a slave of the master the name servers route (only while no controller decides roles)')
    .addArgument(new Argument('<role>', 'the new role').choices(['master', 'slave']))
    .addOption(new Option('--epoch <n>', 'for master: an epoch above every epoch of its group so far').argParser(parseEpoch))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq broker role master --epoch 2 --broker 127.0.0.1:8082   # the master died: promote its slave\n  rmq broker role slave --broker 127.0.0.1:8081')
    .action(async (role: 'master' | 'slave', options: BrokerCallOptions & { epoch?: number }) => {
      const target = { what: 'cannot set the broker role', role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
      const request = { role: role === 'master' ? namesrv.BrokerRole.MASTER : namesrv.BrokerRole.SLAVE, epoch: BigInt(options.epoch ?? 0) };
      const reply = await callOnce(admin.AdminService, target, (client, deadline) => client.setBrokerRole(request, deadline));
      io.out(brokerRoleText(reply, options.broker));
    });
}
