// rmq message show <id> | rmq message find --topic T --key K: stored messages through the
// broker's id/key index (AdminService.FindMessages; RocketMQ's queryMsgById / queryMsgByKey).
import { Argument, Option, type Command } from 'commander';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { CliError } from './cli-error';
import { jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, parseTopicName, timeoutOption, type BrokerCallOptions, type OutputOptions } from './options';

interface LookupOptions extends BrokerCallOptions, OutputOptions {
  topic?: string;
  key?: string;
}

export function registerMessageLookupCommands(message: Command, io: Io): void {
  message
    .command('show')
    .description('show a stored message by its id (every copy: retries and dead letters keep the id)')
    .addArgument(new Argument('<messageId>', 'the message id'))
    .addOption(new Option('--topic <topic>', 'only copies in this topic').argParser(parseTopicName))
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (messageId: string, options: LookupOptions) => {
      const reply = await find({ messageId, topic: options.topic ?? '' }, `cannot look up message ${messageId}`, options);
      if (!options.json && reply.messages.length === 0) throw new CliError(`no message ${messageId} on ${options.broker} (it may be older than the index or retention)`);
      io.out(options.json ? jsonText(admin.FindMessagesResponseSchema, reply) : reply.messages.map(messageText).join('\n\n'));
    });

  message
    .command('find')
    .description('find stored messages of a topic by key, newest first')
    .requiredOption('--topic <topic>', 'the topic', parseTopicName)
    .requiredOption('-k, --key <key>', 'the message key')
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .action(async (options: LookupOptions) => {
      const reply = await find({ topic: options.topic!, key: options.key! }, `cannot find messages with key ${options.key}`, options);
      if (options.json) io.out(jsonText(admin.FindMessagesResponseSchema, reply));
      else io.out(reply.messages.length === 0 ? `No message with key ${options.key} in ${options.topic}.` : reply.messages.map(messageText).join('\n\n'));
    });
}

function find(request: { messageId?: string; topic: string; key?: string }, what: string, options: BrokerCallOptions) {
  return callOnce(admin.AdminService, { what, role: 'broker', address: options.broker, timeoutMs: options.timeoutMs }, (client, deadline) => client.findMessages(request, deadline));
}

function messageText(message: admin.FoundMessage): string {
  const properties = Object.entries(message.properties).map(([name, value]) => `${name}=${value}`).join(', ');
  return [
    `Message ${message.messageId}`,
    `  topic        ${message.topic} (queue ${message.queueId}, offset ${message.queueOffset}, log offset ${message.logOffset})`,
    `  stored       ${new Date(Number(message.storeTimestampMs)).toISOString()}`,
    ...(message.tag ? [`  tag          ${message.tag}`] : []),
    ...(message.keys.length > 0 ? [`  keys         ${message.keys.join(', ')}`] : []),
    ...(message.messageGroup ? [`  group        ${message.messageGroup}`] : []),
    ...(properties ? [`  properties   ${properties}`] : []),
    `  body         ${message.body.byteLength} bytes: ${Buffer.from(message.body).toString('utf8').slice(0, 200)}`,
  ].join('\n');
}
