// Our SimpleConsumer: the application asks for messages, processes them, and acks each (or
// changes how long it stays invisible). Each receive long-polls one readable broker of one
// subscribed topic, rotating over all of them; acks go to the broker that delivered the message,
// many entries per AckMessage when given together.
import { durationFromMs, v2 } from '@rmq/contracts';
import { ClientError, isOk } from './client-error';
import { Connections, parseEndpoints, type SecurityOptions } from './connections';
import { CLIENT_LIMITS } from './limits';
import { RouteCache } from './route-cache';
import { recordReceive } from './client-tracing';
import { receivedMessage, type ReceivedMessage } from './received-message';

export interface SimpleConsumerOptions extends SecurityOptions {
  endpoints: string;
  namespace?: string;
  group: string;
  /** Topic -> tag expression (`*`, `TagA || TagB`). */
  subscriptions: Record<string, string>;
  /** How long a receive waits for messages when there are none (default 20 s). */
  awaitMs?: number;
}

export class SimpleConsumer {
  private rotation = 0;
  private readonly topics: string[];

  private constructor(
    private readonly connections: Connections,
    private readonly routes: RouteCache,
    private readonly options: SimpleConsumerOptions,
  ) {
    this.topics = Object.keys(options.subscriptions);
    if (this.topics.length === 0) throw new Error('a SimpleConsumer needs at least one subscription');
    if (!options.group) throw new Error('a SimpleConsumer needs a consumer group');
  }

  static start(options: SimpleConsumerOptions): SimpleConsumer {
    const connections = new Connections({ namespace: options.namespace ?? '', zone: '', credentials: options.credentials, tls: options.tls, clock: options.clock });
    return new SimpleConsumer(connections, new RouteCache(connections, parseEndpoints(options.endpoints), options.namespace ?? ''), options);
  }

  /** How many (topic, broker) pairs receive() rotates over: that many empty receives in a row read everything. */
  async sourceCount(): Promise<number> {
    const counts = await Promise.all(this.topics.map(async (topic) => (await this.routes.brokers(topic)).filter((broker) => broker.readable).length));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Up to `countMax` messages, invisible to the rest of the group for `invisibleMs`. */
  async receive(options: { countMax?: number; invisibleMs?: number; signal?: AbortSignal } = {}): Promise<ReceivedMessage[]> {
    const countMax = Math.min(options.countMax ?? 16, CLIENT_LIMITS.receiveCountMax);
    const invisibleMs = options.invisibleMs ?? CLIENT_LIMITS.invisibleMsDefault;
    const awaitMs = this.options.awaitMs ?? CLIENT_LIMITS.awaitMsDefault;
    const candidates = (await Promise.all(this.topics.map(async (topic) => (await this.routes.brokers(topic)).filter((broker) => broker.readable).map((broker) => ({ topic, broker })))))
      .flat();
    if (candidates.length === 0) throw new ClientError('NO_ROUTE', `no readable broker serves topics ${this.topics.join(', ')}`);
    const { topic, broker } = candidates[this.rotation++ % candidates.length];
    const stream = this.connections.to(broker.endpoint).receiveMessage(
      {
        group: { name: this.options.group, resourceNamespace: this.options.namespace ?? '' },
        messageQueue: { topic: { name: topic, resourceNamespace: this.options.namespace ?? '' }, id: broker.queueIds[0] ?? 0, broker: { name: broker.brokerName } },
        filterExpression: { type: v2.FilterType.TAG, expression: this.options.subscriptions[topic] },
        batchSize: countMax,
        invisibleDuration: durationFromMs(invisibleMs),
        longPollingTimeout: durationFromMs(awaitMs),
        autoRenew: false,
      },
      { metadata: this.connections.metadata(), deadlineMs: awaitMs + CLIENT_LIMITS.requestTimeoutMs, signal: options.signal },
    );
    const messages: ReceivedMessage[] = [];
    let status: v2.Status | undefined;
    for await (const frame of stream as AsyncIterable<v2.ReceiveMessageResponse>) {
      if (frame.content.case === 'status') status = frame.content.value;
      if (frame.content.case === 'message') messages.push(receivedMessage(frame.content.value, broker.brokerName, broker.endpoint));
    }
    if (status && !isOk(status) && status.code !== v2.Code.MESSAGE_NOT_FOUND) throw ClientError.of(status, `receive from broker ${broker.brokerName}`);
    recordReceive(topic, this.options.group, messages.map((message) => message.traceContext));
    return messages;
  }

  /** Acknowledges messages: one AckMessage per broker and topic. Rejects if any ack failed. */
  async ack(messages: ReceivedMessage | ReceivedMessage[]): Promise<void> {
    const list = Array.isArray(messages) ? messages : [messages];
    const byTarget = new Map<string, ReceivedMessage[]>();
    for (const message of list) {
      const key = `${message.endpoint}\u0000${message.topic}`;
      byTarget.set(key, [...(byTarget.get(key) ?? []), message]);
    }
    await Promise.all([...byTarget.values()].map(async (group) => {
      const { endpoint, topic } = group[0];
      const reply = await this.connections.to(endpoint).ackMessage(
        {
          group: { name: this.options.group, resourceNamespace: this.options.namespace ?? '' },
          topic: { name: topic, resourceNamespace: this.options.namespace ?? '' },
          entries: group.map((message) => ({ messageId: message.messageId, receiptHandle: message.receiptHandle })),
        },
        { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
      );
      if (!isOk(reply.status) || reply.entries.some((entry) => !isOk(entry.status))) {
        const failed = reply.entries.find((entry) => !isOk(entry.status));
        throw ClientError.of(failed?.status ?? reply.status, `ack of ${group.length} message(s) on topic ${topic}`);
      }
    }));
  }

  /** Makes a received message invisible for `invisibleMs` from now (0: redeliver now); updates its handle. */
  async changeInvisibleDuration(message: ReceivedMessage, invisibleMs: number): Promise<void> {
    const reply = await this.connections.to(message.endpoint).changeInvisibleDuration(
      {
        group: { name: this.options.group, resourceNamespace: this.options.namespace ?? '' },
        topic: { name: message.topic, resourceNamespace: this.options.namespace ?? '' },
        receiptHandle: message.receiptHandle,
        invisibleDuration: durationFromMs(invisibleMs),
        messageId: message.messageId,
      },
      { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
    );
    if (!isOk(reply.status)) throw ClientError.of(reply.status, `change invisible duration of message ${message.messageId}`);
    message.receiptHandle = reply.receiptHandle;
  }

  /** Tells every known broker this client is leaving, then closes the connections. */
  async close(): Promise<void> {
    await Promise.all(this.routes.knownEndpoints().map((endpoint) =>
      this.connections.to(endpoint).notifyClientTermination(
        { group: { name: this.options.group, resourceNamespace: this.options.namespace ?? '' } },
        { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
      ).catch(() => undefined),
    ));
    this.connections.close();
  }
}
