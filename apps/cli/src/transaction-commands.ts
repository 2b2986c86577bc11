// rmq transaction list: open transactions (half messages neither committed nor rolled back) on one broker.
import { Argument, type Command } from 'commander';
import { admin } from '@rmq/contracts';
import { callOnce } from './call';
import { jsonText } from './format';
import type { Io } from './io';
import { brokerOption, jsonOption, parseTopicName, timeoutOption, type BrokerCallOptions, type OutputOptions } from './options';

export function registerTransactionCommands(program: Command, io: Io): void {
  const transaction = program.command('transaction').description('inspect transactional messages');

  transaction
    .command('list')
    .description('list the open transactions of a topic (or of every topic), oldest first, with the checks sent so far')
    .addArgument(new Argument('[topic]', 'the topic (all topics when left out)').argParser(parseTopicName))
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', '\nExamples:\n  rmq transaction list OrderTopic\n  rmq transaction list --json')
    .action(async (topic: string | undefined, options: BrokerCallOptions & OutputOptions) => {
      const target = { what: 'cannot list open transactions', role: 'broker', address: options.broker, timeoutMs: options.timeoutMs };
      const reply = await callOnce(admin.AdminService, target, (client, deadline) => client.listTransactions({ topic: topic ?? '' }, deadline));
      if (options.json) {
        io.out(jsonText(admin.ListTransactionsResponseSchema, reply));
        return;
      }
      if (reply.transactions.length === 0) {
        io.out(`No open transactions${topic ? ` on topic ${topic}` : ''}.`);
        return;
      }
      io.out('TOPIC  MESSAGE ID  OPEN SINCE  CHECKS  TRANSACTION ID');
      for (const t of reply.transactions) {
        io.out(`${t.topic}  ${t.messageId}  ${new Date(Number(t.bornTimestampMs)).toISOString()}  ${t.checks}  ${t.transactionId}`);
      }
      if (reply.openCount > reply.transactions.length) io.out(`(${reply.transactions.length} of ${reply.openCount} shown)`);
    });
}
