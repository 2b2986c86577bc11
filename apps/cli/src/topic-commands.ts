// rmq topic create|update|list|show: AdminService calls on one broker.
import { Argument, Option, type Command } from 'commander';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { CliError, EXIT_USAGE } from './cli-error';
import { createdTopicText, jsonText, topicListText, topicText, updatedTopicText } from './format';
import type { Io } from './io';
import {
  brokerOption,
  jsonOption,
  parseQueueCount,
  parseTopicName,
  PERMISSIONS,
  timeoutOption,
  TOPIC_TYPES,
  type BrokerCallOptions,
  type OutputOptions,
  type PermissionName,
  type TopicTypeName,
} from './options';

interface CreateOptions extends BrokerCallOptions {
  queues: number;
  type: TopicTypeName;
}

export function registerTopicCommands(program: Command, io: Io): void {
  const topic = program
    .command('topic')
    .description('create and inspect topics on a broker')
    .addHelpText('after', '\nExamples:\n  rmq topic create TestTopic\n  rmq topic list\n  rmq topic show TestTopic --json');

  topic
    .command('create')
    .description('create a topic on a broker; creating it again with the same settings changes nothing')
    .addArgument(topicNameArgument())
    .addOption(
      new Option('-q, --queues <count>', 'number of queues to read and write (more queues, more consumers in parallel)')
        .default(0, "the broker's --default-queue-count, 8")
        .argParser(parseQueueCount),
    )
    .addOption(
      new Option('-t, --type <type>', 'the kind of messages the topic accepts')
        .choices(Object.keys(TOPIC_TYPES))
        .default('normal'),
    )
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rmq topic create TestTopic',
        '  rmq topic create Orders --queues 16 --type fifo',
        '  rmq topic create Audit --broker 10.0.0.5:8081 --timeout-ms 10000',
      ].join('\n'),
    )
    .addOption(jsonOption())
    .action(async (name: string, options: CreateOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot create topic ${name}`, options), (client, deadline) =>
        client.createTopic({ name, queueCount: options.queues, messageType: TOPIC_TYPES[options.type] }, deadline),
      );
      io.out(options.json ? jsonText(admin.CreateTopicResponseSchema, reply) : createdTopicText(reply, options.broker));
    });

  topic
    .command('update')
    .description("grow a topic's queue count or change its permission; clients pick it up with their next route refresh")
    .addArgument(topicNameArgument())
    .addOption(new Option('-q, --queues <count>', 'the new number of queues (queues are never removed)').argParser(parseQueueCount))
    .addOption(new Option('-p, --perm <permission>', 'what the topic allows on this broker').choices(Object.keys(PERMISSIONS)))
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', ['', 'Examples:', '  rmq topic update Orders --queues 16', '  rmq topic update Orders --perm read     # stop new messages, keep serving consumers'].join('\n'))
    .addOption(jsonOption())
    .action(async (name: string, options: BrokerCallOptions & OutputOptions & { queues?: number; perm?: PermissionName }) => {
      if (options.queues === undefined && options.perm === undefined) throw new CliError('nothing to update: give --queues and/or --perm', EXIT_USAGE);
      const reply = await callOnce(admin.AdminService, target(`cannot update topic ${name}`, options), (client, deadline) =>
        client.updateTopic({ name, queueCount: options.queues ?? 0, perm: options.perm === undefined ? undefined : PERMISSIONS[options.perm] }, deadline),
      );
      io.out(options.json ? jsonText(admin.UpdateTopicResponseSchema, reply) : updatedTopicText(reply, options.broker));
    });

  topic
    .command('list')
    .description("list a broker's topics")
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target('cannot list topics', options), (client, deadline) =>
        client.listTopics({}, deadline),
      );
      io.out(options.json ? jsonText(admin.ListTopicsResponseSchema, reply) : topicListText(reply, options.broker));
    });

  topic
    .command('show')
    .description("show a topic's settings and the oldest and next offset of each queue")
    .addArgument(topicNameArgument())
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (name: string, options: BrokerCallOptions & OutputOptions) => {
      const reply = await callOnce(admin.AdminService, target(`cannot show topic ${name}`, options), (client, deadline) =>
        client.getTopic({ name }, deadline),
      );
      io.out(options.json ? jsonText(admin.GetTopicResponseSchema, reply) : topicText(reply));
    });
}

function topicNameArgument(): Argument {
  return new Argument('<name>', 'topic name: letters, digits, %, |, _ and -, at most 127 characters').argParser(parseTopicName);
}

function target(what: string, options: BrokerCallOptions) {
  return { what, role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
}
