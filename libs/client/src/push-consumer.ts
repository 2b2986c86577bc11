// Our PushConsumer: messages are handed to a listener as they arrive. The group's queues are
// shared out by the brokers (QueryAssignment on the topic's first broker, asked again every
// assignmentIntervalMs); one long-polling receive loop runs per assigned queue. A listener's
// 'success' acks the message, 'failure' (or a throw) nacks it, and the broker brings it back
// after the group's retry delay (dead-lettering it after the last attempt). At most
// `concurrency` messages are in the listener at once; received ones wait in a small buffer (a
// queue's loop receives again only while the buffer holds fewer than `concurrency`: at most one
// batch per queue beyond), so a long poll on an empty queue never holds listener room that
// messages of other queues need (it did: a message could wait out a 20 s long poll elsewhere).
// close() cancels the long polls at once, lets the listener finish what was received, then tells
// the brokers the client is leaving.
import { delay } from '@rmq/base';
import { durationFromMs, v2 } from '@rmq/contracts';
import { ClientError, isOk } from './client-error';
import { Connections, parseEndpoints, type SecurityOptions } from './connections';
import { CLIENT_LIMITS } from './limits';
import { RouteCache, type BrokerRoute } from './route-cache';
import { inProcessSpan } from './client-tracing';
import { receivedMessage, type ReceivedMessage } from './received-message';

export type ConsumeResult = 'success' | 'failure';

export interface PushConsumerOptions extends SecurityOptions {
  endpoints: string;
  namespace?: string;
  group: string;
  /** Topic -> tag expression (`*`, `TagA || TagB`). */
  subscriptions: Record<string, string>;
  listener: (message: ReceivedMessage) => ConsumeResult | Promise<ConsumeResult>;
  /** Messages in the listener at once (default 16). */
  concurrency?: number;
  /** How often the assignment is asked again (default 2 s): the delay before a rebalance is seen. */
  assignmentIntervalMs?: number;
  /** How long a receive waits for new messages (default 20 s); close() does not wait for it. */
  longPollingMs?: number;
}

interface QueueLoop {
  topic: string;
  broker: BrokerRoute;
  queueId: number;
  abort: AbortController;
}

export class PushConsumer {
  private readonly loops = new Map<string, QueueLoop>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  /** Received, not yet handed to the listener (invisible on the broker, renewed while this client lives). */
  private readonly buffered: ReceivedMessage[] = [];
  private inListener = 0;
  /** Receive loops waiting for room in the buffer. */
  private readonly roomWaiters = new Set<() => void>();
  private closed = false;
  private readonly concurrency: number;

  private constructor(
    private readonly connections: Connections,
    private readonly routes: RouteCache,
    private readonly options: PushConsumerOptions,
  ) {
    if (Object.keys(options.subscriptions).length === 0) throw new Error('a PushConsumer needs at least one subscription');
    if (!options.group) throw new Error('a PushConsumer needs a consumer group');
    this.concurrency = options.concurrency ?? 16;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${this.concurrency}`);
  }

  /** Starts consuming; resolves once the first assignment was asked for. */
  static async start(options: PushConsumerOptions): Promise<PushConsumer> {
    const connections = new Connections({ namespace: options.namespace ?? '', zone: '', credentials: options.credentials, tls: options.tls, clock: options.clock });
    const consumer = new PushConsumer(connections, new RouteCache(connections, parseEndpoints(options.endpoints), options.namespace ?? ''), options);
    await consumer.heartbeat();
    await consumer.rebalance();
    consumer.timers.push(setInterval(() => void consumer.rebalance(), options.assignmentIntervalMs ?? 2_000));
    consumer.timers.push(setInterval(() => void consumer.heartbeat(), 10_000));
    return consumer;
  }

  get clientId(): string {
    return this.connections.clientId;
  }

  /** Queues this member reads now, as "brokerName/queueId" per topic. */
  assignedQueues(): string[] {
    return [...this.loops.values()].map((loop) => `${loop.topic}@${loop.broker.brokerName}/${loop.queueId}`).sort();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const loop of this.loops.values()) loop.abort.abort();
    this.loops.clear();
    // Receives end at once; what they brought goes through the listener (consume calls are tracked too).
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    await Promise.all(this.routes.knownEndpoints().map((endpoint) =>
      this.connections.to(endpoint).notifyClientTermination(
        { group: this.group() },
        { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
      ).catch(() => undefined),
    ));
    this.connections.close();
  }

  private group() {
    return { name: this.options.group, resourceNamespace: this.options.namespace ?? '' };
  }

  private async heartbeat(): Promise<void> {
    if (this.closed) return;
    await Promise.all(this.routes.knownEndpoints().map((endpoint) =>
      this.connections.to(endpoint).heartbeat(
        { group: this.group(), clientType: v2.ClientType.PUSH_CONSUMER },
        { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
      ).catch(() => undefined), // best effort: the next one comes in 10 s
    ));
  }

  /** Asks each topic's first broker for this member's queues; starts and stops loops to match. */
  private async rebalance(): Promise<void> {
    if (this.closed) return;
    for (const topic of Object.keys(this.options.subscriptions)) {
      try {
        const brokers = await this.routes.brokers(topic);
        if (brokers.length === 0) continue;
        const reply = await this.connections.to(brokers[0].endpoint).queryAssignment(
          { topic: { name: topic, resourceNamespace: this.options.namespace ?? '' }, group: this.group() },
          { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
        );
        if (!isOk(reply.status)) throw ClientError.of(reply.status, `assignment of topic ${topic}`);
        const wanted = new Map<string, { broker: BrokerRoute; queueId: number }>();
        for (const assignment of reply.assignments) {
          const broker = brokers.find((candidate) => candidate.brokerName === assignment.messageQueue?.broker?.name);
          if (broker && assignment.messageQueue) wanted.set(`${topic}@${broker.brokerName}/${assignment.messageQueue.id}`, { broker, queueId: assignment.messageQueue.id });
        }
        for (const [key, loop] of this.loops) {
          if (loop.topic === topic && !wanted.has(key)) {
            loop.abort.abort();
            this.loops.delete(key);
          }
        }
        for (const [key, { broker, queueId }] of wanted) {
          if (this.loops.has(key) || this.closed) continue;
          const loop: QueueLoop = { topic, broker, queueId, abort: new AbortController() };
          this.loops.set(key, loop);
          this.track(this.receiveLoop(loop));
        }
      } catch {
        // The next rebalance tries again; the queues held so far keep being read meanwhile.
      }
    }
  }

  private async receiveLoop(loop: QueueLoop): Promise<void> {
    const longPollingMs = this.options.longPollingMs ?? CLIENT_LIMITS.awaitMsDefault;
    const batchSize = Math.min(this.concurrency, CLIENT_LIMITS.receiveCountMax);
    while (!loop.abort.signal.aborted) {
      if (!(await this.roomInBuffer(loop.abort.signal))) return;
      const messages: ReceivedMessage[] = [];
      let failed = false;
      try {
        const stream = this.connections.to(loop.broker.endpoint).receiveMessage(
          {
            group: this.group(),
            messageQueue: { topic: { name: loop.topic, resourceNamespace: this.options.namespace ?? '' }, id: loop.queueId, broker: { name: loop.broker.brokerName } },
            filterExpression: { type: v2.FilterType.TAG, expression: this.options.subscriptions[loop.topic] },
            batchSize,
            invisibleDuration: durationFromMs(CLIENT_LIMITS.pushInvisibleMs),
            longPollingTimeout: durationFromMs(longPollingMs),
            autoRenew: true, // a push receive: a later ChangeInvisibleDuration is a nack
          },
          { metadata: this.connections.metadata(), deadlineMs: longPollingMs + CLIENT_LIMITS.requestTimeoutMs, signal: loop.abort.signal },
        );
        let status: v2.Status | undefined;
        for await (const frame of stream as AsyncIterable<v2.ReceiveMessageResponse>) {
          if (frame.content.case === 'status') status = frame.content.value;
          if (frame.content.case === 'message') messages.push(receivedMessage(frame.content.value, loop.broker.brokerName, loop.broker.endpoint));
        }
        if (status && !isOk(status) && status.code !== v2.Code.MESSAGE_NOT_FOUND) throw ClientError.of(status, `receive from ${loop.topic}@${loop.broker.brokerName}/${loop.queueId}`);
      } catch {
        failed = true; // the broker refused (its status) or could not be reached
      }
      // Messages that arrived are consumed even when the stream then broke or was cancelled (a
      // rebalance, close()): the broker counts them delivered and renews them while this client
      // lives, so dropped here they would stay invisible to the whole group.
      this.buffered.push(...messages);
      this.dispatch();
      if (failed && !loop.abort.signal.aborted) await delay(1_000, loop.abort.signal).catch(() => undefined);
    }
  }

  /** Hands buffered messages to the listener while it has room. */
  private dispatch(): void {
    while (this.inListener < this.concurrency && this.buffered.length > 0) {
      this.inListener++;
      this.track(this.consume(this.buffered.shift()!));
    }
    if (this.buffered.length < this.concurrency) {
      const waiters = [...this.roomWaiters];
      this.roomWaiters.clear();
      for (const wake of waiters) wake(); // each looks again; those that find no room wait again
    }
  }

  private async consume(message: ReceivedMessage): Promise<void> {
    try {
      let result: ConsumeResult;
      try {
        result = await inProcessSpan(message.topic, this.options.group, message.messageId, message.traceContext, async () => this.options.listener(message));
      } catch {
        result = 'failure';
      }
      const client = this.connections.to(message.endpoint);
      const options = { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs };
      if (result === 'success') {
        await client.ackMessage({ group: this.group(), topic: { name: message.topic }, entries: [{ messageId: message.messageId, receiptHandle: message.receiptHandle }] }, options).catch(() => undefined);
      } else {
        // The broker picks the delay from the group's retry schedule for this attempt.
        await client.changeInvisibleDuration({ group: this.group(), topic: { name: message.topic }, receiptHandle: message.receiptHandle, invisibleDuration: durationFromMs(0), messageId: message.messageId }, options).catch(() => undefined);
      }
    } finally {
      this.inListener--;
      this.dispatch();
    }
  }

  /** Waits until the buffer holds fewer than `concurrency` messages; false once aborted. */
  private async roomInBuffer(signal: AbortSignal): Promise<boolean> {
    while (this.buffered.length >= this.concurrency && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.roomWaiters.delete(wake);
          resolve();
        };
        this.roomWaiters.add(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    return !signal.aborted;
  }

  private track(work: Promise<void>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }
}
