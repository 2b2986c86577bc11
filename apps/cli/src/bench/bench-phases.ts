// The three measurements of `rmq bench`, through our SDK: produce (windows of messages in flight,
// each window awaited whole, peerbench's method), consume (the backlog just produced, by a new
// group, receive + ack loops) and end-to-end latency (a paced producer and live consumers, the
// send time stamped in the body). Every loop is bounded by a count and by time.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Producer, SimpleConsumer, type ReceivedMessage } from '@rmq/client';
import type { Io } from '../io';
import type { PhaseResult } from './bench-report';
import { clientCpu, cpuPercent, LatencySamples, type CpuClock } from './bench-stats';

export interface BenchSettings {
  broker: string;
  topics: readonly string[];
  group: string;
  sizeBytes: number;
  /** produce: messages, unless durationS is set. */
  count: number;
  durationS?: number;
  /** produce: messages in flight (one window, awaited whole). */
  concurrency: number;
  /** Messages per SendMessage (the SDK batches concurrent sends up to this) and per receive. */
  batch: number;
  /** Receive loops of the consume and e2e phases. */
  consumers: number;
  /** e2e: messages per second and seconds measured (after 1 s not counted). */
  rate: number;
  e2eDurationS: number;
}

export interface BenchContext {
  settings: BenchSettings;
  io: Io;
  brokerCpu: CpuClock;
}

const BODY_POOL = 64;
const RECEIVE_WAIT_MS = 1_000;
const E2E_WARMUP_S = 1;
const E2E_DRAIN_MS = 5_000;
const PRODUCE_SECONDS_MAX = 600;
/** Receive batch the SDK allows at most. */
const RECEIVE_BATCH_MAX = 32;

interface PhaseOutcome {
  messages: number;
  latency?: LatencySamples;
  notes?: string;
}

/** Runs one phase with CPU readings around it and a progress line every second. */
async function measured(context: BenchContext, phase: PhaseResult['phase'], progress: () => number, body: () => Promise<PhaseOutcome>): Promise<PhaseResult> {
  const [clientBefore, brokerBefore] = [await clientCpu(), await context.brokerCpu()];
  const startedMs = performance.now();
  let lastCount = 0;
  let lastMs = startedMs;
  const report = () => {
    const nowMs = performance.now();
    const count = progress();
    const rate = ((count - lastCount) * 1000) / Math.max(1, nowMs - lastMs);
    context.io.err(`${phase}: ${count.toLocaleString('en-US')} msgs, ${Math.round(rate).toLocaleString('en-US')} msg/s now, ${((nowMs - startedMs) / 1000).toFixed(0)} s`);
    [lastCount, lastMs] = [count, nowMs];
  };
  const ticker = setInterval(report, 1_000);
  let outcome: PhaseOutcome;
  try {
    outcome = await body();
  } finally {
    clearInterval(ticker);
  }
  report(); // every phase ends with a line, also one shorter than a tick
  const seconds = (performance.now() - startedMs) / 1000;
  const [clientAfter, brokerAfter] = [await clientCpu(), await context.brokerCpu()];
  const [p50, p99, p999] = outcome.latency?.percentiles([50, 99, 99.9]) ?? [];
  const brokerCpuPercent = cpuPercent(brokerBefore, brokerAfter, seconds);
  return {
    phase,
    messages: outcome.messages,
    seconds,
    messagesPerSecond: outcome.messages / seconds,
    megabytesPerSecond: (outcome.messages * context.settings.sizeBytes) / 1e6 / seconds,
    latencyMs: outcome.latency ? { p50, p99, p999 } : undefined,
    clientCpuPercent: cpuPercent(clientBefore, clientAfter, seconds),
    brokerCpuPercent,
    brokerCpuUsPerMessage: (brokerCpuPercent / 100) * seconds * 1e6 / outcome.messages,
    notes: outcome.notes ?? '',
  };
}

function bodies(sizeBytes: number): Buffer[] {
  return Array.from({ length: BODY_POOL }, () => randomBytes(sizeBytes));
}

/** Topics whose routes are asked for at once while warming up (1,000 at once time out on a busy machine). */
const WARMUP_CONCURRENCY = 16;
/** A warm-up body: its sequence number (bytes 8-11) is one no e2e run uses. */
const WARMUP_BODY = Buffer.alloc(16, 0xff);

/** One message per topic before the clock starts: routes and connections are ready when it does. */
export const WARMUP_MESSAGES_PER_TOPIC = 1;

async function startedProducer(settings: BenchSettings): Promise<Producer> {
  const producer = Producer.start({ endpoints: settings.broker, batchCountMax: settings.batch });
  for (let i = 0; i < settings.topics.length; i += WARMUP_CONCURRENCY) {
    await Promise.all(settings.topics.slice(i, i + WARMUP_CONCURRENCY).map((topic) => producer.send({ topic, body: WARMUP_BODY })));
  }
  return producer;
}

function consumerOf(settings: BenchSettings): SimpleConsumer {
  return SimpleConsumer.start({
    endpoints: settings.broker,
    group: settings.group,
    subscriptions: Object.fromEntries(settings.topics.map((topic) => [topic, '*'])),
    awaitMs: RECEIVE_WAIT_MS,
  });
}

export async function producePhase(context: BenchContext): Promise<PhaseResult> {
  const { settings } = context;
  const pool = bodies(settings.sizeBytes);
  const producer = await startedProducer(settings);
  let sent = 0;
  try {
    return await measured(context, 'produce', () => sent, async () => {
      const latency = new LatencySamples();
      const stopAtMs = performance.now() + 1000 * (settings.durationS ?? PRODUCE_SECONDS_MAX);
      const total = settings.durationS === undefined ? settings.count : Number.MAX_SAFE_INTEGER;
      while (sent < total && performance.now() < stopAtMs) {
        const window = Math.min(settings.concurrency, total - sent);
        await Promise.all(Array.from({ length: window }, (_, i) => {
          const n = sent + i;
          const startedMs = performance.now();
          return producer.send({ topic: settings.topics[n % settings.topics.length], body: pool[n % BODY_POOL] }).then(() => latency.add(performance.now() - startedMs));
        }));
        sent += window;
      }
      return { messages: sent, latency, notes: 'latency: send to stored ack' };
    });
  } finally {
    await producer.close();
  }
}

/** Reads `expected` messages (the backlog the produce phase left, warm-up included) with receive + ack loops. */
export async function consumePhase(context: BenchContext, expected: number): Promise<PhaseResult> {
  const { settings } = context;
  const consumer = consumerOf(settings);
  let received = 0;
  try {
    const sources = await consumer.sourceCount();
    return await measured(context, 'consume', () => received, async () => {
      let emptyInARow = 0;
      await Promise.all(Array.from({ length: settings.consumers }, async () => {
        // Ends when everything is read, or when every source came back empty (twice over).
        while (received < expected && emptyInARow < 2 * sources) {
          const messages = await consumer.receive({ countMax: Math.min(settings.batch, RECEIVE_BATCH_MAX) });
          emptyInARow = messages.length === 0 ? emptyInARow + 1 : 0;
          received += messages.length;
          if (messages.length > 0) await consumer.ack(messages);
        }
      }));
      return { messages: received, notes: received < expected ? `only ${received} of ${expected} found` : 'acks included' };
    });
  } finally {
    await consumer.close();
  }
}

/** A paced producer and live consumers; the body carries the send time and a sequence number. */
export async function endToEndPhase(context: BenchContext): Promise<PhaseResult> {
  const { settings } = context;
  const producer = await startedProducer(settings);
  const consumer = consumerOf(settings);
  const total = Math.round(settings.rate * (E2E_WARMUP_S + settings.e2eDurationS));
  const warmup = Math.round(settings.rate * E2E_WARMUP_S);
  const seen = new Uint8Array(total);
  let received = 0;
  let duplicates = 0;
  let stopped = false;
  const latency = new LatencySamples();
  const sizeBytes = Math.max(16, settings.sizeBytes);
  try {
    await consumer.sourceCount(); // routes known before the clock starts
    return await measured(context, 'e2e', () => received, async () => {
      const onMessage = (message: ReceivedMessage) => {
        if (message.body.length < 16) return;
        const sequence = message.body.readUInt32LE(8);
        if (sequence >= total) return; // a warm-up message
        if (seen[sequence]) duplicates++;
        else {
          seen[sequence] = 1;
          received++;
          if (sequence >= warmup) latency.add(performance.timeOrigin + performance.now() - message.body.readDoubleLE(0));
        }
      };
      const consuming = Promise.all(Array.from({ length: settings.consumers }, async () => {
        while (!stopped && received < total) {
          const messages = await consumer.receive({ countMax: Math.min(settings.batch, RECEIVE_BATCH_MAX) });
          for (const message of messages) onMessage(message);
          if (messages.length > 0) void consumer.ack(messages).catch((error: Error) => context.io.err(`e2e: an ack failed: ${error.message}`));
        }
      }));
      const sends: Promise<unknown>[] = [];
      const startedMs = performance.now();
      for (let next = 0; next < total; ) {
        const due = Math.min(total, Math.floor(((performance.now() - startedMs) * settings.rate) / 1000) + 1);
        for (; next < due; next++) {
          const body = Buffer.alloc(sizeBytes);
          body.writeDoubleLE(performance.timeOrigin + performance.now(), 0);
          body.writeUInt32LE(next, 8);
          sends.push(producer.send({ topic: settings.topics[next % settings.topics.length], body }));
        }
        await sleep(1);
      }
      await Promise.all(sends);
      const drainUntilMs = performance.now() + E2E_DRAIN_MS;
      while (received < total && performance.now() < drainUntilMs) await sleep(10);
      stopped = true;
      await consuming;
      return { messages: received, latency, notes: `${settings.rate}/s paced; lost ${total - received}, duplicates ${duplicates}` };
    });
  } finally {
    stopped = true;
    await Promise.all([producer.close(), consumer.close()]);
  }
}
