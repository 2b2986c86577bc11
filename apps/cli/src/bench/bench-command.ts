// rmq bench: produce, consume and end-to-end latency against a running broker, through our SDK,
// with a progress line each second and a final table (or --json): msgs/s, MB/s, p50/p99/p99.9,
// CPU of this client and of the broker (--broker-pid when it runs here, else --broker-http).
import { Argument, InvalidArgumentError, Option, type Command } from 'commander';
import { admin, createClient } from '@rmq/contracts';
import { CliError, EXIT_FAILED } from '../cli-error';
import type { Io } from '../io';
import { brokerOption, jsonOption, parseAddress, timeoutOption, type BrokerCallOptions, type OutputOptions } from '../options';
import { consumePhase, endToEndPhase, producePhase, WARMUP_MESSAGES_PER_TOPIC, type BenchContext, type BenchSettings } from './bench-phases';
import { resultJson, resultTable, type PhaseResult } from './bench-report';
import { metricsCpu, procCpu, type CpuClock } from './bench-stats';

const PHASES = ['produce', 'consume', 'e2e'] as const;
type Phase = (typeof PHASES)[number];
const TOPIC_QUEUES = 8;
const TOPICS_MAX = 10_000;

interface BenchOptions extends BrokerCallOptions, OutputOptions {
  size: number;
  count: number;
  duration?: number;
  concurrency: number;
  batch: number;
  consumers: number;
  topics: number;
  durability?: 'sync' | 'async';
  rate: number;
  e2eSeconds: number;
  brokerPid?: number;
  brokerHttp?: string;
}

const whole = (min: number, max: number) => (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
};

export function registerBenchCommand(program: Command, io: Io): void {
  program
    .command('bench')
    .description('measure a broker: produce, consume (the backlog just produced) and end-to-end latency, through the rmq SDK')
    .addArgument(new Argument('[phases]', `comma-separated, from ${PHASES.join(', ')}`).default(PHASES.join(',')).argParser(parsePhases))
    .addOption(new Option('--size <bytes>', 'message body size').argParser(whole(16, 4 * 1024 * 1024)).default(1024))
    .addOption(new Option('--count <n>', 'messages to produce').argParser(whole(1, 100_000_000)).default(100_000))
    .addOption(new Option('--duration <s>', 'produce for this long instead of --count messages').argParser(whole(1, 3_600)))
    .addOption(new Option('--concurrency <n>', 'produce: messages in flight (sent together, then all awaited)').argParser(whole(1, 100_000)).default(1_000))
    .addOption(new Option('--batch <n>', 'messages per SendMessage call, and per receive (at most 32)').argParser(whole(1, 1_024)).default(256))
    .addOption(new Option('--consumers <n>', 'receive loops of the consume and e2e phases').argParser(whole(1, 256)).default(4))
    .addOption(new Option('--topics <n>', `topics written round robin (created by the bench, ${TOPIC_QUEUES} queues each)`).argParser(whole(1, TOPICS_MAX)).default(1))
    .addOption(new Option('--durability <mode>', "the broker's flush mode this run expects (checked; the broker's --flush-mode sets it)").choices(['sync', 'async']))
    .addOption(new Option('--rate <n>', 'e2e: messages per second').argParser(whole(1, 1_000_000)).default(2_000))
    .addOption(new Option('--e2e-seconds <s>', 'e2e: seconds measured (after 1 s of warm-up)').argParser(whole(1, 3_600)).default(10))
    .addOption(new Option('--broker-pid <pid>', 'broker process on this machine: its CPU from /proc').argParser(whole(1, 2 ** 31)))
    .addOption(new Option('--broker-http <host:port>', "broker's /metrics address, for its CPU when it runs elsewhere").argParser(parseAddress))
    .addOption(jsonOption())
    .addOption(brokerOption())
    .addOption(timeoutOption())
    .addHelpText('after', [
      '',
      'Each run creates new topics (bench-<time>-<n>) and a new consumer group; they stay on the broker.',
      'One untimed message per topic warms routes and connections up first (consume reads it too).',
      'Examples:',
      '  rmq bench                                   all phases, 100,000 x 1 KiB, 1,000 in flight',
      '  rmq bench produce --duration 30 --topics 1000 --durability sync',
      '  rmq bench e2e --rate 2000 --broker-pid $(pgrep -f apps/broker/dist) --json',
    ].join('\n'))
    .action(async (phases: Phase[], options: BenchOptions) => {
      const results = await runBench(phases, options, io);
      io.out(options.json ? resultJson(settingsOf(options), results) : resultTable(results));
    });
}

function parsePhases(text: string): Phase[] {
  const phases = text.split(',').map((phase) => phase.trim());
  const unknown = phases.filter((phase) => !(PHASES as readonly string[]).includes(phase));
  if (unknown.length > 0 || phases.length === 0) throw new InvalidArgumentError(`unknown phase ${unknown.join(', ') || '""'}; choose from ${PHASES.join(', ')}`);
  return phases as Phase[];
}

function settingsOf(options: BenchOptions): Record<string, unknown> {
  const { json: _json, timeoutMs: _timeout, ...settings } = options;
  return settings;
}

async function runBench(phases: Phase[], options: BenchOptions, io: Io): Promise<PhaseResult[]> {
  if (phases.includes('consume') && !phases.includes('produce')) throw new CliError('the consume phase reads what the produce phase wrote: run "produce,consume"');
  const runId = Date.now().toString(36);
  const topics = Array.from({ length: options.topics }, (_, i) => `bench-${runId}-${i}`);
  // e2e gets topics of its own: a new group reads a topic from its first message, and the produce
  // phase's backlog must not count as (very late) deliveries.
  const e2eTopics = phases.includes('e2e') ? topics.map((topic) => `${topic}-e2e`) : [];
  await prepareBroker(options, [...topics, ...e2eTopics]);
  const brokerCpu: CpuClock = options.brokerPid ? procCpu(options.brokerPid) : options.brokerHttp ? metricsCpu(options.brokerHttp) : async () => undefined;
  const settings: BenchSettings = {
    broker: options.broker,
    topics,
    group: `bench-g-${runId}`,
    sizeBytes: options.size,
    count: options.count,
    durationS: options.duration,
    concurrency: options.concurrency,
    batch: options.batch,
    consumers: options.consumers,
    rate: options.rate,
    e2eDurationS: options.e2eSeconds,
  };
  const context: BenchContext = { settings, io, brokerCpu };
  const results: PhaseResult[] = [];
  try {
    if (phases.includes('produce')) results.push(await producePhase(context));
    if (phases.includes('consume')) results.push(await consumePhase(context, results[0].messages + WARMUP_MESSAGES_PER_TOPIC * topics.length));
    if (phases.includes('e2e')) results.push(await endToEndPhase({ ...context, settings: { ...settings, topics: e2eTopics } }));
  } catch (error) {
    throw error instanceof CliError ? error : new CliError(`the benchmark failed: ${error instanceof Error ? error.message : String(error)}`, EXIT_FAILED);
  }
  return results;
}

/** Checks the flush mode the run expects and creates the topics. */
async function prepareBroker(options: BenchOptions, topics: readonly string[]): Promise<void> {
  const client = createClient(admin.AdminService, options.broker);
  try {
    const status = await client.getBrokerStatus({}, { deadlineMs: options.timeoutMs });
    if (options.durability && status.flushMode !== options.durability) {
      throw new CliError(`the broker at ${options.broker} runs with --flush-mode ${status.flushMode}, not ${options.durability}; restart it with --flush-mode ${options.durability} or drop --durability`);
    }
    for (const name of topics) await client.createTopic({ name, queueCount: TOPIC_QUEUES }, { deadlineMs: options.timeoutMs });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot prepare the broker at ${options.broker}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    client.close();
  }
}
