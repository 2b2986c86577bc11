// rmq message send|receive: produce and consume from the command line, through our SDK
// (@rmq/client), e.g. to check a topic end to end or to drain a dead-letter topic.
import { Argument, Option, type Command } from 'commander';
import { ClientError, Producer, SimpleConsumer, type ReceivedMessage } from '@rmq/client';
import { v2 } from '@rmq/contracts';
import { decodeRecallHandle } from '@rmq/messaging';
import { callOnce } from './call';
import { CliError, EXIT_USAGE } from './cli-error';
import { securityFromEnv } from './credentials';
import type { Io } from './io';
import { registerMessageLookupCommands } from './message-lookup-commands';
import { createProgress } from './progress';
import {
  brokerInsteadOption, brokerOption, jsonOption, nameServerOption, parseDelayMs, parseDeliverAt, parseTopicName, timeoutOption,
  type BrokerCallOptions, type NameServerCallOptions, type OutputOptions,
} from './options';

interface SendOptions extends BrokerCallOptions, OutputOptions {
  tag?: string;
  key: string[];
  group?: string;
  property: string[];
  count: number;
  delay?: number;
  deliverAt?: number;
}

interface ReceiveOptions extends BrokerCallOptions, OutputOptions {
  group: string;
  tags: string;
  count: number;
  waitMs: number;
  ack: boolean;
}

export function registerMessageCommands(program: Command, io: Io): void {
  const message = program
    .command('message')
    .description('send and receive messages (through the rmq SDK)')
    .addHelpText('after', '\nExamples:\n  rmq message send TestTopic "hello" --tag greeting\n  rmq message receive TestTopic --group TestGroup --count 10\n  rmq message show <id>\n  rmq message find --topic TestTopic --key order-1');
  registerMessageLookupCommands(message, io);

  message
    .command('send')
    .description('send a message to a topic; prints its message id and where it was stored')
    .addArgument(new Argument('<topic>', 'the topic').argParser(parseTopicName))
    .addArgument(new Argument('<body>', 'the message body (text)'))
    .addOption(new Option('-t, --tag <tag>', 'the message tag'))
    .addOption(new Option('-k, --key <key>', 'a message key (repeat for more)').argParser(collect).default([]))
    .addOption(new Option('-g, --group <messageGroup>', 'message group, for a FIFO topic'))
    .addOption(new Option('-p, --property <name=value>', 'a user property (repeat for more)').argParser(collect).default([]))
    .addOption(new Option('-c, --count <n>', 'send the message this many times (progress on stderr from 100)').argParser(parseCount).default(1))
    .addOption(new Option('--delay <duration>', 'deliver after this long, e.g. 10s, 5m (a DELAY topic)').argParser(parseDelayMs).conflicts('deliverAt'))
    .addOption(new Option('--deliver-at <time>', 'deliver at this time, ISO 8601 or ms since 1970 (a DELAY topic)').argParser(parseDeliverAt))
    .addOption(jsonOption())
    .addOption(brokerOption())
    .action(async (topic: string, body: string, options: SendOptions) => {
      const producer = Producer.start({ endpoints: options.broker, ...securityFromEnv() });
      try {
        const properties = Object.fromEntries(options.property.map(parseProperty));
        const deliveryTimestampMs = options.deliverAt ?? (options.delay !== undefined ? Date.now() + options.delay : undefined);
        const progress = createProgress('sent', options.count, process.stderr, () => io.nowMs());
        const receipts = await Promise.all(Array.from({ length: options.count }, async () => {
          const receipt = await producer.send({ topic, body, tag: options.tag, keys: options.key, messageGroup: options.group, properties, deliveryTimestampMs });
          progress.advance();
          return receipt;
        }));
        progress.done();
        for (const receipt of receipts) {
          io.out(options.json ? JSON.stringify(receipt) : `Sent ${receipt.messageId} to ${topic} on ${receipt.brokerName} (queue offset ${receipt.queueOffset}).`);
          if (deliveryTimestampMs !== undefined && !options.json) io.out(`  due at ${new Date(deliveryTimestampMs).toISOString()}; cancel with: rmq message recall ${receipt.recallHandle ?? ''}`);
        }
      } catch (error) {
        throw asCliError(`cannot send to topic ${topic}`, error);
      } finally {
        await producer.close();
      }
    });

  message
    .command('recall')
    .description('cancel a pending delay message with the recall handle its send printed')
    .addArgument(new Argument('<handle>', 'the recall handle'))
    .addOption(nameServerOption())
    .addOption(brokerInsteadOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nThe name server finds the master of the broker group named in the handle, also after a failover.')
    .action(async (handle: string, options: NameServerCallOptions & { broker?: string }) => {
      let topic: string;
      try {
        topic = decodeRecallHandle(handle).topic;
      } catch (error) {
        throw new CliError(`cannot recall: ${(error as Error).message}`, EXIT_USAGE);
      }
      const via = options.broker !== undefined ? { role: 'broker', address: options.broker } : { role: 'name server', address: options.nameServer };
      const target = { what: `cannot recall a message of topic ${topic}`, ...via, timeoutMs: options.timeoutMs };
      const reply = await callOnce(v2.MessagingService, target, (client, deadline) => client.recallMessage({ topic: { name: topic }, recallHandle: handle }, deadline));
      if (reply.status && reply.status.code !== v2.Code.OK) throw new CliError(`${target.what}: ${reply.status.message} [${v2.Code[reply.status.code] ?? reply.status.code}]`);
      io.out(`Recalled ${reply.messageId} of ${topic}: it will not be delivered.`);
    });

  message
    .command('receive')
    .description('receive messages of a topic as a consumer group, print them, and acknowledge them')
    .addArgument(new Argument('<topic>', 'the topic').argParser(parseTopicName))
    .requiredOption('-g, --group <group>', 'the consumer group to receive as')
    .addOption(new Option('--tags <expression>', 'tag filter, e.g. "TagA || TagB"').default('*'))
    .addOption(new Option('-c, --count <n>', 'stop after this many messages').argParser(parseCount).default(16))
    .addOption(new Option('--wait-ms <ms>', 'stop when nothing arrives for this long').argParser(parseCount).default(3_000))
    .addOption(new Option('--no-ack', 'leave the messages unacknowledged (they come back after 30 s)'))
    .addOption(jsonOption())
    .addOption(brokerOption())
    .action(async (topic: string, options: ReceiveOptions) => {
      const consumer = SimpleConsumer.start({ endpoints: options.broker, group: options.group, subscriptions: { [topic]: options.tags }, awaitMs: Math.max(1_000, options.waitMs), ...securityFromEnv() });
      let received = 0;
      try {
        // Each receive asks one broker in turn: stop once every broker came back empty in a row.
        const progress = createProgress('received', options.count, process.stderr, () => io.nowMs());
        const sources = await consumer.sourceCount();
        for (let empty = 0; received < options.count && empty < sources; ) {
          const messages = await consumer.receive({ countMax: Math.min(32, options.count - received) });
          empty = messages.length === 0 ? empty + 1 : 0;
          if (messages.length === 0) continue;
          for (const one of messages) io.out(options.json ? JSON.stringify(messageJson(one)) : messageLine(one));
          if (options.ack) await consumer.ack(messages);
          received += messages.length;
          progress.advance(messages.length);
        }
        progress.done();
        if (!options.json) io.err(`${received} message(s) received${options.ack ? ' and acknowledged' : ''}.`);
      } catch (error) {
        throw asCliError(`cannot receive from topic ${topic}`, error);
      } finally {
        await consumer.close();
      }
    });
}

function messageLine(message: ReceivedMessage): string {
  const tag = message.tag ? ` tag=${message.tag}` : '';
  const keys = message.keys.length > 0 ? ` keys=${message.keys.join(',')}` : '';
  return `${message.messageId} ${message.brokerName}/${message.queueId}@${message.queueOffset} attempt=${message.deliveryAttempt}${tag}${keys} ${message.body.toString()}`;
}

function messageJson(message: ReceivedMessage) {
  const { receiptHandle: _handle, endpoint: _endpoint, body, ...rest } = message;
  return { ...rest, body: body.toString() };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseCount(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) throw new CliError(`expected a whole number from 1 to 1000000, got "${text}"`, EXIT_USAGE);
  return value;
}

function parseProperty(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new CliError(`a property is name=value, got "${text}"`, EXIT_USAGE);
  return [text.slice(0, at), text.slice(at + 1)];
}

function asCliError(what: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ClientError) return new CliError(`${what}: ${error.reason} [${error.code}]`);
  return new CliError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}
