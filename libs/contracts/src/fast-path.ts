// The official client makes one SendMessage per message and one AckMessage per message, so
// grpc-js's own work per call (Metadata from the headers, an intercepting call with its listeners,
// a stream decoder, a deadline timer: 25-45 µs of CPU and a third of a call's garbage, measured in
// docs/performance.md, wave 7) is a large share of what such a message costs. This answers the
// unary methods given on node:http2 itself, on the HTTP/2 servers grpc-js made, and hands every
// other call to grpc-js as before; server-streaming methods (ReceiveMessage) too, their frames
// written several per HTTP/2 write (fast-stream-writer.ts). What the client sees is what grpc-js
// answers: the same response headers, length-prefixed replies, `grpc-status`/`grpc-message`
// trailers, and the same statuses for a bad deadline header, an oversized or malformed request, a
// request over the request budget (in-band, as request-budget-interceptor.ts answers it) and a
// passed deadline.
//
// grpc-js offers no hook before its 'stream' listener: this wraps the listener it installs and
// calls its idle-connection bookkeeping, both private to grpc-js (pinned in package.json);
// `serveFastPath` answers false, and nothing changes, when they are not where expected.
import * as http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { DescMessage } from '@bufbuild/protobuf';
import { systemClock, type Clock } from '@rmq/base';
import { inBandStatusReply } from './call-guard';
import { decodeReceiveMessageRequest } from './fast-codec/receive-request-codec';
import { encodeReceiveMessageResponseInto, HOT_PATH_CODECS } from './fast-codec/rpc-codecs';
import { decodeSendRequestChunks, type RequestParts } from './fast-codec/send-request';
import type { ScratchBuffer } from './fast-codec/wire';
import { FastStreamWriter, FRAME_HEADER_BYTES, REPLY_HEADERS, trailersOnly } from './fast-stream-writer';
import { grpcTimeoutMs, interceptGrpcStreams, isPlainGrpcCall } from './grpc-stream-intercept';
import { GRPC_SERVER_LIMITS } from './limits';
import type { RequestBudget } from './request-budget';
import { statusOf } from './status';
import * as v2 from './v2';

interface FastMethodBase {
  /** The gRPC path, e.g. /apache.rocketmq.v2.MessagingService/SendMessage. */
  path: string;
  decode: (bytes: Buffer) => unknown;
  /** Decodes a request that arrived in several chunks without joining them (SendMessage: send-request.ts). */
  decodeParts?: (parts: RequestParts) => unknown;
  /** The reply that carries a refusal by the request budget in-band (its apache Status); none: a gRPC status. */
  inBandReply?: (status: v2.Status) => unknown;
  /** Refused past the request budget whatever its size (sends), as requestBudgetInterceptor's alwaysBudgeted. */
  alwaysBudgeted?: boolean;
}

export interface FastUnaryMethod extends FastMethodBase {
  kind?: 'unary';
  /** May return a shared scratch buffer: its bytes are copied before the next call. */
  encode: (reply: never) => Buffer;
  handler: grpc.handleUnaryCall<never, never>;
}

/** A method with one request and a stream of replies (ReceiveMessage). */
export interface FastServerStreamingMethod extends FastMethodBase {
  kind: 'serverStreaming';
  /** Encodes one reply into `scratch.take(size)`'s bytes (or elsewhere: they are then copied). */
  encodeInto: (reply: never, scratch: ScratchBuffer) => Buffer;
  handler: grpc.handleServerStreamingCall<never, never>;
}

export type FastMethod = FastUnaryMethod | FastServerStreamingMethod;

export interface FastPathOptions {
  receiveBytesMax: number;
  budget?: RequestBudget;
  /** GRPC_SERVER_LIMITS.requestReadMsMax unless given (tests). */
  requestReadMsMax?: number;
  /** Calls go to grpc-js while this is false (a slave forwards sends with grpc-js's call). */
  enabled?: () => boolean;
  /** Times the calls' grpc-timeout deadlines; the system clock unless given. */
  clock?: Clock;
}

/** The official client's per-message calls, SendMessage and AckMessage, and ReceiveMessage, with their hand-written codecs, served by `handlers`. */
export function messagingFastMethods(handlers: { sendMessage: unknown; ackMessage: unknown; receiveMessage: unknown }): FastMethod[] {
  const method = (name: 'SendMessage' | 'AckMessage', handler: unknown, output: DescMessage, alwaysBudgeted: boolean): FastUnaryMethod => {
    const path = `/${v2.MessagingService.typeName}/${name}`;
    const codec = HOT_PATH_CODECS.get(path);
    if (!codec?.requestDeserialize || !codec.responseSerialize) throw new Error(`no hand-written codec for ${path}`);
    return {
      path, decode: codec.requestDeserialize, encode: codec.responseSerialize, handler: handler as FastUnaryMethod['handler'],
      decodeParts: name === 'SendMessage' ? decodeSendRequestChunks : undefined,
      inBandReply: inBandStatusReply(output) as FastUnaryMethod['inBandReply'], alwaysBudgeted,
    };
  };
  return [
    // Sends are budgeted whatever their size, as the broker's requestBudgetInterceptor says (alwaysBudgeted).
    method('SendMessage', handlers.sendMessage, v2.SendMessageResponseSchema, true),
    method('AckMessage', handlers.ackMessage, v2.AckMessageResponseSchema, false),
    {
      kind: 'serverStreaming', path: `/${v2.MessagingService.typeName}/ReceiveMessage`,
      decode: decodeReceiveMessageRequest, encodeInto: encodeReceiveMessageResponseInto as FastServerStreamingMethod['encodeInto'],
      handler: handlers.receiveMessage as FastServerStreamingMethod['handler'],
      inBandReply: inBandStatusReply(v2.ReceiveMessageResponseSchema) as FastMethodBase['inBandReply'], alwaysBudgeted: false,
    },
  ];
}

const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };
const OK_STATUS = { code: grpc.status.OK, details: 'OK' };

/**
 * Answers `methods` on `server`'s HTTP/2 servers (call once they are bound: after `listen`), with
 * no call guard and no tracing in front of them (neither sees these calls). False when grpc-js's
 * internals are not as this expects: grpc-js then answers everything, as before.
 */
export function serveFastPath(server: grpc.Server, methods: readonly FastMethod[], options: FastPathOptions): boolean {
  const byPath = new Map(methods.map((method) => [method.path, method]));
  const enabled = options.enabled ?? (() => true);
  const readMsMax = options.requestReadMsMax ?? GRPC_SERVER_LIMITS.requestReadMsMax;
  return interceptGrpcStreams(
    server,
    (headers) => {
      const method = byPath.get(headers[':path'] as string);
      return method !== undefined && isPlainGrpcCall(headers) && enabled() ? method : undefined;
    },
    (stream, headers, method) => new FastCall(stream, headers, method, options, readMsMax).start(),
  );
}

/**
 * One call: both the call object the handler sees (request, metadata, cancelled; for a streaming
 * method write and end too) and its reader and responder.
 */
class FastCall {
  request: unknown;
  readonly metadata: HeaderMetadata;
  private deadline = Infinity;
  private chunks: Buffer[] = [];
  private received = 0;
  /** The request message's length, from its frame header. */
  private announced = 0;
  private held = 0;
  private done = false;
  private requestEnded = false;
  private stalled: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** A streaming method's replies. */
  private writer: FastStreamWriter | undefined;
  private cancelListeners: (() => void)[] | undefined;
  private cancelNotified = false;
  /** The handler's answer is complete (a unary reply, a streaming call's end): nothing is left to cancel. */
  private answered = false;
  private readonly onData = (chunk: Buffer): void => this.read(chunk);
  private readonly clock: Clock;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    private readonly method: FastMethod,
    private readonly options: FastPathOptions,
    private readonly readMsMax: number,
  ) {
    this.clock = options.clock ?? systemClock;
    this.metadata = new HeaderMetadata(headers);
  }

  get cancelled(): boolean {
    return this.cancelNotified || this.stream.destroyed || this.stream.closed;
  }

  /** As grpc-js's call: a master's handlers do not ask, but one that turns slave mid-call forwards by it. */
  getDeadline(): number {
    return this.deadline;
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    return socket?.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  /** What in-band.ts's call context listens to for its abort signal: the client cancelled, or the deadline passed. */
  once(event: string, listener: () => void): this {
    if (event === 'cancelled') (this.cancelListeners ??= []).push(listener);
    return this;
  }

  on(event: string, listener: () => void): this {
    return this.once(event, listener);
  }

  // ---- a streaming method's replies, as grpc-js's ServerWritableStream takes them ----

  write(reply: unknown): boolean {
    const writer = this.writer;
    if (writer === undefined || this.cancelled) return false;
    try {
      return writer.write(reply);
    } catch (error) {
      // grpc-js serializes each reply in turn and ends the call at the first it cannot: the replies
      // written before it still go out, then the status (its sendStatus after their writes).
      this.release();
      writer.end({ code: grpc.status.INTERNAL, details: `Error serializing response: ${(error as Error).message}` });
      return false;
    }
  }

  /** Ends the call with OK after the replies written. */
  end(): void {
    if (this.writer === undefined || this.cancelled) return;
    this.answered = true;
    this.release();
    this.writer.end(OK_STATUS);
  }

  /** A handler's error, as grpc-js's ServerWritableStream takes it: the call ends with its status. */
  emit(event: string, error?: unknown): boolean {
    if (event !== 'error' || this.writer === undefined) return false;
    const serviceError = error as Partial<grpc.ServiceError> | undefined;
    this.fail(serviceError?.code ?? grpc.status.UNKNOWN, serviceError?.details ?? serviceError?.message ?? String(error));
    return true;
  }

  destroy(error?: Error): void {
    if (error) this.emit('error', error);
    else this.fail(grpc.status.CANCELLED, 'Cancelled on the server');
  }

  get writableEnded(): boolean {
    return this.writer?.ended ?? this.done;
  }

  get destroyed(): boolean {
    return this.cancelled;
  }

  // ---- the request ----

  start(): void {
    const timeout = this.headers['grpc-timeout'];
    if (timeout !== undefined) {
      const timeoutMs = grpcTimeoutMs(timeout);
      if (timeoutMs === undefined) return this.fail(grpc.status.INTERNAL, `Invalid grpc-timeout value "${timeout}"`);
      this.deadline = this.clock.nowMs() + timeoutMs;
      // A long poll may outlast its deadline: grpc-js's timer ends it (a unary answer checks the deadline when it comes).
      if (this.method.kind === 'serverStreaming') this.deadlineTimer = setTimeout(() => this.expire(), timeoutMs);
    }
    this.stream.once('close', () => {
      this.release();
      // grpc-js also signals 'cancelled' after a call it answered; nobody listens then (a long poll's
      // signal), and aborting it costs an event per receive.
      if (!this.answered) this.notifyCancelled();
    });
    this.stream.on('data', this.onData);
    this.stream.once('end', () => {
      this.requestEnded = true;
      this.answer();
    });
  }

  private read(chunk: Buffer): void {
    this.chunks.push(chunk);
    const before = this.received;
    this.received += chunk.length;
    if (before >= FRAME_HEADER_BYTES || this.received < FRAME_HEADER_BYTES) return;
    const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
    if (head[0] !== 0) return this.fail(grpc.status.INTERNAL, 'a compressed request message without a grpc-encoding header');
    const length = (this.announced = head.readUInt32BE(1));
    if (length > this.options.receiveBytesMax) {
      return this.fail(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.options.receiveBytesMax})`);
    }
    this.admit(FRAME_HEADER_BYTES + length);
  }

  /** The request budget, as request-budget-interceptor.ts applies it: by the frame header, before the body arrives. */
  private admit(bytes: number): void {
    const budget = this.options.budget;
    if (!budget) return;
    const error = budget.take(bytes, bytes > GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax || this.method.alwaysBudgeted === true);
    if (error) {
      const inBand = this.method.inBandReply?.(statusOf(error));
      if (inBand) return this.replyOnce(inBand);
      return this.fail(grpc.status.RESOURCE_EXHAUSTED, error.message);
    }
    this.held = bytes;
    if (this.received < bytes) {
      this.stalled = setTimeout(
        () => this.fail(grpc.status.DEADLINE_EXCEEDED, `the request announced ${bytes} bytes and did not arrive whole within ${this.readMsMax} ms`),
        this.readMsMax,
      );
      this.stalled.unref();
    }
  }

  private answer(): void {
    if (this.done) return;
    clearTimeout(this.stalled);
    const chunks = this.chunks;
    this.chunks = [];
    const received = this.received;
    if (received < FRAME_HEADER_BYTES) {
      return this.fail(grpc.status.UNIMPLEMENTED, `Received no request message for server streaming method ${this.method.path}`);
    }
    const end = FRAME_HEADER_BYTES + this.announced;
    if (received > end) return this.fail(grpc.status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.method.path}`);
    if (received < end) return this.fail(grpc.status.INTERNAL, `the request message ended after ${received - FRAME_HEADER_BYTES} of its ${end - FRAME_HEADER_BYTES} bytes`);
    try {
      // A send's chunks are read where they lie (send-request.ts): no copy of the whole request.
      const decodeParts = this.method.decodeParts;
      if (decodeParts !== undefined && chunks.length > 1) this.request = decodeParts({ chunks, start: FRAME_HEADER_BYTES, length: this.announced });
      else this.request = this.method.decode((chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).subarray(FRAME_HEADER_BYTES));
    } catch (error) {
      return this.fail(grpc.status.INTERNAL, `Error deserializing request: ${(error as Error).message}`);
    }
    const method = this.method;
    if (method.kind === 'serverStreaming') {
      this.writer = new FastStreamWriter(this.stream, method.encodeInto);
      try {
        method.handler(this as unknown as grpc.ServerWritableStream<never, never>);
      } catch {
        this.fail(grpc.status.UNKNOWN, 'Unknown error'); // grpc-js's answer to a handler that throws
      }
      return;
    }
    method.handler(this as unknown as grpc.ServerUnaryCall<never, never>, (error, reply) => {
      if (this.done) return;
      if (this.clock.nowMs() > this.deadline) return this.fail(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded');
      if (error) return this.fail((error as grpc.ServiceError).code ?? grpc.status.UNKNOWN, (error as Error).message ?? String(error));
      this.replyOnce(reply);
    });
  }

  /** One reply and OK: a unary answer, or an in-band refusal of either kind of method. */
  private replyOnce(reply: unknown): void {
    const method = this.method;
    if (method.kind === 'serverStreaming') {
      this.writer ??= new FastStreamWriter(this.stream, method.encodeInto);
      this.write(reply);
      this.end();
      return;
    }
    let body: Buffer;
    try {
      body = method.encode(reply as never);
    } catch (error) {
      return this.fail(grpc.status.INTERNAL, `Error serializing response: ${(error as Error).message}`);
    }
    this.release();
    if (this.cancelled) return;
    this.answered = true;
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, FRAME_HEADER_BYTES);
    const stream = this.stream;
    stream.respond(REPLY_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
    stream.end(frame);
  }

  /** A streaming call past its grpc-timeout: grpc-js's DEADLINE_EXCEEDED, and the handler sees it cancelled. */
  private expire(): void {
    this.fail(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded');
    this.notifyCancelled();
  }

  /** A trailers-only answer as grpc-js gives one, or trailers after the replies a streaming call already sent. */
  private fail(code: grpc.status, details: string): void {
    this.release();
    if (this.cancelled) return;
    if (this.writer !== undefined) {
      this.writer.fail({ code, details });
    } else {
      if (this.stream.headersSent) return;
      this.stream.respond(trailersOnly({ code, details }), { endStream: true });
    }
    // Answered before the request ended (refused, stalled): the rest of it is not wanted (RFC 9113 8.1).
    if (!this.requestEnded) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }

  private notifyCancelled(): void {
    if (this.cancelNotified) return;
    this.cancelNotified = true;
    const listeners = this.cancelListeners;
    this.cancelListeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /** Reads no more and gives the budget's bytes back, once, whatever ended the call. */
  private release(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.stalled);
    clearTimeout(this.deadlineTimer);
    this.stream.removeListener('data', this.onData);
    this.chunks = [];
    this.options.budget?.give(this.held);
    this.held = 0;
  }
}

/**
 * The request headers as grpc-js's Metadata, for what handlers ask of it: a header's values, and
 * all of them (a forwarder copies them). Binary headers (`-bin`) are Buffers, as grpc-js's
 * Metadata.fromHttp2Headers gives them: base64 decoded, a custom one split at commas.
 */
class HeaderMetadata {
  constructor(private readonly headers: IncomingHttpHeaders) {}

  get(name: string): (string | Buffer)[] {
    return headerValues(name, this.headers[name]);
  }

  /** As Metadata.getMap(): no pseudo-headers, the first value of each. */
  getMap(): Record<string, string | Buffer> {
    const map: Record<string, string | Buffer> = {};
    for (const [name, value] of Object.entries(this.headers)) {
      if (name.startsWith(':')) continue;
      const values = headerValues(name, value);
      if (values.length > 0) map[name] = values[0];
    }
    return map;
  }
}

function headerValues(name: string, value: string | string[] | undefined): (string | Buffer)[] {
  if (value === undefined) return [];
  if (!name.endsWith('-bin')) return Array.isArray(value) ? value : [value];
  const texts = Array.isArray(value) ? value : name.startsWith('grpc-') ? [value] : value.split(',').map((part) => part.trim());
  return texts.map((text) => Buffer.from(text, 'base64'));
}
