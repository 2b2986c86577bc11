// Our producer. Concurrent send() calls to one broker are carried by one SendMessage (up to
// batchCountMax messages or batchBytesMax bytes, at most inFlightPerBrokerMax calls in flight),
// so throughput is not bounded by one gRPC call per message. Each message picks its broker with
// @rmq/routing's selectBroker: round robin, a message group always on one broker, failed and slow
// brokers avoided (BrokerHealth), the producer's zone preferred. A failed try moves on to a
// broker not yet tried, up to sendAttemptsMax tries.
import { hostname } from 'node:os';
import { create, timestampFromMs, v2 } from '@rmq/contracts';
import { BrokerHealth, selectBroker } from '@rmq/routing';
import { ClientError, isOk, isRetriable } from './client-error';
import { endSpan, startSendSpan } from './client-tracing';
import { Connections, parseEndpoints, type SecurityOptions } from './connections';
import { CLIENT_LIMITS } from './limits';
import { newMessageId } from './message-id';
import { RouteCache, type BrokerRoute } from './route-cache';

export interface ProducerOptions extends SecurityOptions {
  /** Brokers to bootstrap from, `host:port`, several separated by ';'. */
  endpoints: string;
  namespace?: string;
  /** The producer's zone: brokers of that zone are preferred while one is writable. */
  zone?: string;
  batchCountMax?: number;
  batchBytesMax?: number;
  inFlightPerBrokerMax?: number;
  sendAttemptsMax?: number;
  /** How often a topic's route is asked again (default 30 s): new brokers are used after that. */
  routeRefreshMs?: number;
}

export interface Message {
  topic: string;
  body: Buffer | string;
  tag?: string;
  keys?: string[];
  /** Messages of one group are stored in send order on one queue (the topic must be FIFO). */
  messageGroup?: string;
  properties?: Record<string, string>;
  /** A delay message (the topic must be DELAY): consumers see it at this time, ms since 1970. */
  deliveryTimestampMs?: number;
}

export interface SendReceipt {
  messageId: string;
  brokerName: string;
  queueOffset: number;
  /** Delay messages: RecallMessage with it cancels the delivery while it is pending. */
  recallHandle?: string;
}

interface PendingSend {
  wire: v2.Message;
  topic: string;
  messageGroup?: string;
  sizeBytes: number;
  tried: Set<string>;
  attempts: number;
  /** Sent alone, after a batch it was part of was refused as a whole. */
  alone: boolean;
  resolve: (receipt: SendReceipt) => void;
  reject: (error: unknown) => void;
}

/** The sends waiting for one broker, and its calls in flight. */
interface Lane {
  broker: BrokerRoute;
  pending: PendingSend[];
  inFlight: number;
  flushScheduled: boolean;
}

export class Producer {
  private readonly health = new BrokerHealth();
  private readonly lanes = new Map<string, Lane>();
  private rotation = 0;
  private closed = false;
  /** Sends accepted and not yet settled; close() waits for them. */
  private readonly unsettled = new Set<Promise<SendReceipt>>();
  /** The last send of each message group still in flight. */
  private readonly groupTails = new Map<string, Promise<SendReceipt>>();
  private readonly settings: Required<Omit<ProducerOptions, 'endpoints' | 'routeRefreshMs' | keyof SecurityOptions>>;

  private constructor(
    private readonly connections: Connections,
    private readonly routes: RouteCache,
    options: ProducerOptions,
  ) {
    this.settings = {
      namespace: options.namespace ?? '',
      zone: options.zone ?? '',
      batchCountMax: positive(options.batchCountMax ?? CLIENT_LIMITS.batchCountMaxDefault, 'batchCountMax'),
      batchBytesMax: positive(options.batchBytesMax ?? CLIENT_LIMITS.batchBytesMaxDefault, 'batchBytesMax'),
      inFlightPerBrokerMax: positive(options.inFlightPerBrokerMax ?? CLIENT_LIMITS.inFlightPerBrokerMaxDefault, 'inFlightPerBrokerMax'),
      sendAttemptsMax: positive(options.sendAttemptsMax ?? CLIENT_LIMITS.sendAttemptsMaxDefault, 'sendAttemptsMax'),
    };
  }

  static start(options: ProducerOptions): Producer {
    const accessPoints = parseEndpoints(options.endpoints);
    const connections = new Connections({ namespace: options.namespace ?? '', zone: options.zone ?? '', credentials: options.credentials, tls: options.tls, clock: options.clock });
    const refreshMs = positive(options.routeRefreshMs ?? CLIENT_LIMITS.routeRefreshMs, 'routeRefreshMs');
    return new Producer(connections, new RouteCache(connections, accessPoints, options.namespace ?? '', refreshMs), options);
  }

  get clientId(): string {
    return this.connections.clientId;
  }

  /** Resolves once a broker stored the message (under its durability mode). */
  send(message: Message): Promise<SendReceipt> {
    if (this.closed) return Promise.reject(new ClientError('CLIENT_CLOSED', 'the producer is closed'));
    const body = typeof message.body === 'string' ? Buffer.from(message.body) : message.body;
    if (!message.topic) return Promise.reject(new ClientError('ILLEGAL_TOPIC', 'the message has no topic'));
    if (body.byteLength === 0) return Promise.reject(new ClientError('MESSAGE_BODY_EMPTY', 'the message body is empty'));
    const start = () =>
      new Promise<SendReceipt>((resolve, reject) => {
        const wire = wireMessage(message, body, this.settings.namespace, this.connections.clock.nowMs());
        const { span, traceContext } = startSendSpan(message.topic, wire.systemProperties!.messageId);
        wire.systemProperties!.traceContext = traceContext;
        const pending: PendingSend = {
          wire,
          topic: message.topic,
          messageGroup: message.messageGroup,
          sizeBytes: body.byteLength,
          tried: new Set(),
          attempts: 0,
          alone: false,
          resolve: (receipt) => {
            endSpan(span);
            resolve(receipt);
          },
          reject: (error) => {
            endSpan(span, error);
            reject(error);
          },
        };
        void this.dispatch(pending);
      });
    // A message group's sends go one at a time, each after the one before settled: a retried
    // send can then never land behind a later one of its group.
    const group = message.messageGroup;
    const previous = group ? this.groupTails.get(group) : undefined;
    const sent = previous ? previous.catch(() => undefined).then(start) : start();
    if (group) {
      this.groupTails.set(group, sent);
      void sent.catch(() => undefined).finally(() => this.groupTails.get(group) === sent && this.groupTails.delete(group));
    }
    this.unsettled.add(sent);
    void sent.catch(() => undefined).finally(() => this.unsettled.delete(sent));
    return sent;
  }

  /** Refuses new sends, waits for the ones accepted so far to settle, then closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.unsettled]);
    this.connections.close();
  }

  private async dispatch(pending: PendingSend): Promise<void> {
    let brokers: BrokerRoute[];
    try {
      brokers = (await this.routes.brokers(pending.topic)).filter((broker) => broker.writable && broker.queueIds.length > 0);
    } catch (error) {
      pending.reject(error);
      return;
    }
    const choice = selectBroker({
      // The route marks the brokers of our zone as preferred; selectBroker falls back to the rest.
      brokers: brokers.map((broker) => ({ brokerName: broker.brokerName, endpoint: broker.endpoint, zone: broker.preferred ? this.settings.zone : '' })),
      messageGroup: pending.messageGroup,
      avoided: this.health.avoided(this.connections.clock.nowMs()),
      tried: pending.tried,
      zone: this.settings.zone,
      rotation: this.rotation++,
    });
    const broker = choice && brokers.find((candidate) => candidate.brokerName === choice.brokerName);
    if (!broker) {
      pending.reject(new ClientError('NO_ROUTE', `topic ${pending.topic} has no writable broker`));
      return;
    }
    const lane = this.laneOf(broker);
    lane.pending.push(pending);
    this.scheduleFlush(lane);
  }

  private laneOf(broker: BrokerRoute): Lane {
    let lane = this.lanes.get(broker.brokerName);
    if (!lane) this.lanes.set(broker.brokerName, (lane = { broker, pending: [], inFlight: 0, flushScheduled: false }));
    lane.broker = broker; // the newest route's endpoint
    return lane;
  }

  /** Flushes at once when a batch is full, else after the sends of this tick have joined it. */
  private scheduleFlush(lane: Lane): void {
    if (lane.pending.length >= this.settings.batchCountMax) {
      this.flush(lane);
      return;
    }
    if (lane.flushScheduled) return;
    lane.flushScheduled = true;
    setImmediate(() => {
      lane.flushScheduled = false;
      this.flush(lane);
    });
  }

  private flush(lane: Lane): void {
    while (lane.inFlight < this.settings.inFlightPerBrokerMax && lane.pending.length > 0) {
      const batch = this.takeBatch(lane);
      lane.inFlight++;
      void this.sendBatch(lane.broker, batch).finally(() => {
        lane.inFlight--;
        if (lane.pending.length > 0) this.flush(lane);
      });
    }
  }

  private takeBatch(lane: Lane): PendingSend[] {
    const batch: PendingSend[] = [];
    let sizeBytes = 0;
    while (lane.pending.length > 0 && batch.length < this.settings.batchCountMax) {
      const next = lane.pending[0];
      if (batch.length > 0 && (next.alone || batch[0].alone || sizeBytes + next.sizeBytes > this.settings.batchBytesMax)) break;
      batch.push(lane.pending.shift()!);
      sizeBytes += next.sizeBytes;
    }
    return batch;
  }

  private async sendBatch(broker: BrokerRoute, batch: PendingSend[]): Promise<void> {
    const startedMs = performance.now();
    for (const pending of batch) {
      pending.attempts++;
      pending.tried.add(broker.brokerName);
    }
    let reply: v2.SendMessageResponse;
    try {
      reply = await this.connections.to(broker.endpoint).sendMessage(
        { messages: batch.map((pending) => pending.wire) },
        { metadata: this.connections.metadata(), deadlineMs: CLIENT_LIMITS.requestTimeoutMs },
      );
    } catch (error) {
      this.health.failed(broker.brokerName, this.connections.clock.nowMs());
      for (const topic of new Set(batch.map((pending) => pending.topic))) void this.routes.refresh(topic).catch(() => undefined); // it may have moved
      const failure = new ClientError('TRANSPORT', `send to broker ${broker.brokerName} (${broker.endpoint}) failed: ${error instanceof Error ? error.message : String(error)}`);
      for (const pending of batch) this.retryOrReject(pending, failure);
      return;
    }
    if (!isOk(reply.status) && reply.entries.length === 0) {
      const failure = ClientError.of(reply.status, `send to broker ${broker.brokerName}`);
      const code = reply.status!.code;
      if (code === v2.Code.TOPIC_NOT_FOUND) for (const topic of new Set(batch.map((pending) => pending.topic))) void this.routes.refresh(topic).catch(() => undefined);
      else if (isRetriable(code)) this.health.failed(broker.brokerName, this.connections.clock.nowMs());
      for (const pending of batch) {
        if (isRetriable(code)) this.retryOrReject(pending, failure);
        else if (batch.length > 1) this.resendAlone(pending); // one bad message refuses the whole batch: find it
        else pending.reject(failure);
      }
      return;
    }
    this.health.succeeded(broker.brokerName, performance.now() - startedMs, this.connections.clock.nowMs());
    batch.forEach((pending, index) => {
      const entry = reply.entries[index];
      if (entry && isOk(entry.status)) {
        pending.resolve({
          messageId: entry.messageId || pending.wire.systemProperties!.messageId, brokerName: broker.brokerName, queueOffset: Number(entry.offset),
          ...(entry.recallHandle ? { recallHandle: entry.recallHandle } : {}),
        });
      } else if (entry?.status && isRetriable(entry.status.code)) {
        this.retryOrReject(pending, ClientError.of(entry.status, `send to broker ${broker.brokerName}`));
      } else {
        pending.reject(entry ? ClientError.of(entry.status, `send to broker ${broker.brokerName}`) : new ClientError('CODE_UNSPECIFIED', `broker ${broker.brokerName} answered no entry for message ${index}`));
      }
    });
  }

  private retryOrReject(pending: PendingSend, failure: ClientError): void {
    if (pending.attempts >= this.settings.sendAttemptsMax || this.closed) pending.reject(failure);
    else void this.dispatch(pending);
  }

  private resendAlone(pending: PendingSend): void {
    pending.alone = true;
    pending.attempts--; // the refusal was the batch's, not this message's
    pending.tried.clear();
    void this.dispatch(pending);
  }
}

function wireMessage(message: Message, body: Buffer, namespace: string, nowMs: number): v2.Message {
  return create(v2.MessageSchema, {
    topic: { name: message.topic, resourceNamespace: namespace },
    body,
    userProperties: message.properties ?? {},
    systemProperties: {
      messageId: newMessageId(nowMs),
      tag: message.tag,
      keys: message.keys ?? [],
      messageGroup: message.messageGroup,
      messageType: message.messageGroup ? v2.MessageType.FIFO : message.deliveryTimestampMs !== undefined ? v2.MessageType.DELAY : v2.MessageType.NORMAL,
      deliveryTimestamp: message.deliveryTimestampMs !== undefined ? timestampFromMs(Math.floor(message.deliveryTimestampMs)) : undefined,
      bodyEncoding: v2.Encoding.IDENTITY,
      bornTimestamp: timestampFromMs(nowMs),
      bornHost: hostname(),
    },
  });
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}
