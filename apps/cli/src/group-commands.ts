// rmq group create|update|show|list|delete: consumer groups and their settings on one broker
// (RocketMQ's `mqadmin updateSubGroup`), and a group's progress per queue.
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { GROUP_NAME_LENGTH_MAX, nameProblem } from '@rmq/base';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { CliError, EXIT_USAGE } from './cli-error';
import { groupListText, groupText, jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, timeoutOption, type BrokerCallOptions, type OutputOptions } from './options';

interface SettingsOptions extends BrokerCallOptions {
  maxAttempts?: number;
  retry?: string;
  fifo?: boolean;
  consumeType?: 'clustering' | 'broadcast';
  consumeEnabled?: boolean;
}

const CONSUME_TYPES = { clustering: admin.ConsumeType.CLUSTERING, broadcast: admin.ConsumeType.BROADCAST } as const;

export function registerGroupCommands(program: Command, io: Io): void {
  const group = program
    .command('group')
    .description('create, change and inspect consumer groups on a broker')
    .addHelpText('after', '\nExamples:\n  rmq group create Orders --max-attempts 3 --retry customized:1s,10s\n  rmq group show Orders');

  withSettings(group.command('create').description("create a consumer group; settings left out take the broker's defaults"))
    .addHelpText('after', ['', 'Examples:', '  rmq group create G --max-attempts 3 --retry customized:1s', '  rmq group create Ordered --fifo', '  rmq group create Everyone --consume-type broadcast'].join('\n'))
    .addOption(jsonOption())
    .action(async (name: string, options: SettingsOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot create consumer group ${name}`, options), (client, deadline) =>
        client.createGroup({ name, settings: settingsOf(options) }, deadline),
      );
      io.out(options.json ? jsonText(admin.CreateGroupResponseSchema, reply) : `Created consumer group ${name} on ${options.broker}.\n\n${groupText(reply.group, [])}`);
    });

  withSettings(group.command('update').description("change a consumer group's settings; those left out stay as they are"))
    .addOption(jsonOption())
    .action(async (name: string, options: SettingsOptions & OutputOptions) => {
      const settings = settingsOf(options);
      if (Object.values(settings).every((value) => value === undefined || value === admin.ConsumeType.UNSPECIFIED)) throw new CliError('nothing to update: give at least one setting', EXIT_USAGE);
      const reply = await callOnce(admin.AdminService, target(`cannot update consumer group ${name}`, options), (client, deadline) =>
        client.updateGroup({ name, settings }, deadline),
      );
      io.out(options.json ? jsonText(admin.UpdateGroupResponseSchema, reply) : `Updated consumer group ${name} on ${options.broker}.\n\n${groupText(reply.group, [])}`);
    });

  group
    .command('show')
    .alias('progress')
    .description("show a group's settings and, per queue, its committed offset, messages in flight and lag")
    .addArgument(groupNameArgument())
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (name: string, options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot show consumer group ${name}`, options), (client, deadline) => client.getGroup({ name }, deadline));
      io.out(options.json ? jsonText(admin.GetGroupResponseSchema, reply) : groupText(reply.group, reply.queues, reply.exists));
    });

  group
    .command('list')
    .description("list a broker's consumer groups and their settings")
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target('cannot list consumer groups', options), (client, deadline) => client.listGroups({}, deadline));
      io.out(options.json ? jsonText(admin.ListGroupsResponseSchema, reply) : groupListText(reply, options.broker));
    });

  group
    .command('delete')
    .description("delete a consumer group's settings (a group used again afterwards is auto-created with the defaults)")
    .addArgument(groupNameArgument())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addOption(jsonOption())
    .action(async (name: string, options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot delete consumer group ${name}`, options), (client, deadline) => client.deleteGroup({ name }, deadline));
      io.out(options.json ? jsonText(admin.DeleteGroupResponseSchema, reply) : `Deleted consumer group ${name} on ${options.broker}.`);
    });
}

function withSettings(command: Command): Command {
  return command
    .addArgument(groupNameArgument())
    .addOption(new Option('--max-attempts <count>', 'deliveries in total before a message moves to %DLQ%<group>').argParser((text) => parseCount(text, 1, 1000)))
    .addOption(new Option('--retry <policy>', 'when a failed message comes back: customized:10s,30s,1m (the last repeats) or exponential:<initial>,<max>,<multiplier>'))
    .addOption(new Option('--fifo', 'consume FIFO topics in message-group order'))
    .addOption(new Option('--no-fifo', 'consume FIFO topics without waiting for earlier messages of a message group'))
    .addOption(new Option('--consume-type <type>', 'clustering: each message to one member; broadcast: every member gets every message').choices(Object.keys(CONSUME_TYPES)))
    .addOption(new Option('--consume-enabled <yes|no>', 'no refuses every receive of the group').choices(['yes', 'no']).argParser((text) => text === 'yes'))
    .addOption(brokerOption())
    .addOption(timeoutOption());
}

function settingsOf(options: SettingsOptions): admin.GroupSettings {
  return {
    $typeName: 'rmq.admin.v1.GroupSettings',
    maxAttempts: options.maxAttempts,
    retryPolicy: options.retry,
    fifo: options.fifo,
    consumeType: options.consumeType ? CONSUME_TYPES[options.consumeType] : admin.ConsumeType.UNSPECIFIED,
    consumeEnabled: options.consumeEnabled,
  };
}

function groupNameArgument(): Argument {
  return new Argument('<group>', 'consumer group name: letters, digits, %, |, _ and -, at most 120 characters').argParser((text) => {
    const problem = nameProblem(text, GROUP_NAME_LENGTH_MAX);
    if (problem) throw new InvalidArgumentError(`not a valid consumer group name: ${problem}.`);
    return text;
  });
}

function parseCount(text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

function target(what: string, options: BrokerCallOptions) {
  return { what, role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
}
