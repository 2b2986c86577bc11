// Bidirectional streaming methods (a slave's Follow) answered on node:http2 itself, on the HTTP/2
// servers grpc-js made, as fast-path.ts does for unary and server-streaming calls: each reply is
// encoded once, in place behind its frame prefix, into a buffer reused once HTTP/2 wrote it
// (reused-frames.ts), where grpc-js would copy the encoded reply into a fresh frame. The handler
// gets what it uses of grpc-js's ServerDuplexStream: 'data' (each request decoded), 'end' (the
// client half-closed), write() with its backpressure ('drain'), end() (OK), emit('error', e) (e's
// status), 'cancelled' and 'close', `cancelled`, `metadata` and the call's deadline. What the
// client sees is what grpc-js sends: the same headers, frames, trailers and statuses.
//
// Like fast-path.ts this wraps the 'stream' listener grpc-js installs and calls its private
// idle-connection bookkeeping; `serveBidiFastPath` answers false, and nothing changes, when they
// are not where expected. It may be called before or after `serveFastPath` (each passes on the
// calls it does not answer).
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { systemClock, type Clock } from '@rmq/base';
import type { ScratchBuffer } from './fast-codec/wire';
import { grpcTimeoutMs, interceptGrpcStreams, isPlainGrpcCall } from './grpc-stream-intercept';
import { FRAME_HEADER_BYTES, REPLY_HEADERS, trailersOnly, type CallStatus } from './fast-stream-writer';
import { ReusedFrames, type ReplyFrame } from './reused-frames';

export interface FastBidiMethod {
  /** The gRPC path, e.g. /rmq.replication.v1.ReplicationService/Follow. */
  path: string;
  decode: (bytes: Buffer) => unknown;
  /** Encodes one reply into `scratch.take(size)`'s bytes (or elsewhere: they are then copied). */
  encodeInto: (reply: never, scratch: ScratchBuffer) => Buffer;
  handler: grpc.handleBidiStreamingCall<never, never>;
  /** Replies up to this size, frame prefix included, are written from reused buffers of this size. */
  replyFrameBytesMax: number;
}

export interface BidiFastPathOptions {
  receiveBytesMax: number;
  /** Times the calls' grpc-timeout deadlines; the system clock unless given. */
  clock?: Clock;
}

const OK_STATUS: CallStatus = { code: grpc.status.OK, details: 'OK' };
/** grpc-js's server calls buffer 16 replies (their streams' object-mode high-water mark). */
const WRITE_BUFFER_FRAMES = 16;

/** Answers `methods` on `server`'s HTTP/2 servers (after `listen`); false when grpc-js's internals are not as expected. */
export function serveBidiFastPath(server: grpc.Server, methods: readonly FastBidiMethod[], options: BidiFastPathOptions): boolean {
  const byPath = new Map(methods.map((method) => [method.path, method]));
  return interceptGrpcStreams(
    server,
    (headers) => {
      const method = byPath.get(headers[':path'] as string);
      return method !== undefined && isPlainGrpcCall(headers) ? method : undefined;
    },
    (stream, headers, method) => new FastBidiCall(stream, headers, method, options).start(),
  );
}

/** True for a call of this fast path: write() encodes the reply before it returns, so its bytes need not outlive the call. */
export function encodesWhenWritten(call: object): boolean {
  return call instanceof FastBidiCall;
}

/** One call, as its handler sees it (grpc-js's ServerDuplexStream, the parts in use) and its reader and writer. */
class FastBidiCall extends EventEmitter {
  readonly metadata: grpc.Metadata;
  private deadline = Infinity;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the next request needs before it can be decoded: its prefix, then prefix and body. */
  private needed = FRAME_HEADER_BYTES;
  private finished = false;
  private cancelNotified = false;
  private responseHeaders: OutgoingHttpHeaders = REPLY_HEADERS;
  private readonly frames: ReusedFrames;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    private readonly method: FastBidiMethod,
    private readonly options: BidiFastPathOptions,
  ) {
    super();
    this.metadata = grpc.Metadata.fromHttp2Headers(headers);
    this.frames = new ReusedFrames(method.replyFrameBytesMax);
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const timeoutMs = grpcTimeoutMs(timeout);
      if (timeoutMs === undefined) {
        this.deadline = -1;
        return;
      }
      this.deadline = (options.clock ?? systemClock).nowMs() + timeoutMs;
      this.deadlineTimer = setTimeout(() => this.expire(), timeoutMs);
    }
  }

  get cancelled(): boolean {
    return this.cancelNotified || this.stream.destroyed || this.stream.closed;
  }

  get destroyed(): boolean {
    return this.cancelled;
  }

  get writableEnded(): boolean {
    return this.finished;
  }

  getDeadline(): number {
    return this.deadline;
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    return socket?.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
  }

  /** Headers sent with the response's first bytes (grpc-js's sendMetadata, before any reply). */
  sendMetadata(metadata: grpc.Metadata): void {
    if (!this.stream.headersSent) this.responseHeaders = { ...REPLY_HEADERS, ...metadata.toHttp2Headers() };
  }

  start(): void {
    if (this.deadline === -1) return this.finish({ code: grpc.status.INTERNAL, details: 'Invalid grpc-timeout value' });
    this.stream.once('close', () => {
      clearTimeout(this.deadlineTimer);
      // A stream the client reset also ends its request ('end' first): the reset code tells a cancel.
      if (!this.finished || (this.stream.rstCode ?? 0) !== 0) this.notifyCancelled();
      super.emit('close');
    });
    this.stream.on('drain', () => super.emit('drain'));
    this.stream.on('data', (chunk: Buffer) => this.read(chunk));
    this.stream.once('end', () => {
      if (!this.finished) super.emit('end');
    });
    try {
      this.method.handler(this as unknown as grpc.ServerDuplexStream<never, never>);
    } catch {
      this.finish({ code: grpc.status.UNKNOWN, details: 'Unknown error' }); // grpc-js's answer to a handler that throws
    }
  }

  /** One reply; false while the stream wants no more (wait for 'drain'). */
  write(reply: unknown): boolean {
    if (this.finished || this.cancelled) return false;
    let frame: ReplyFrame;
    try {
      frame = this.frames.frame(this.method.encodeInto(reply as never, this.frames));
    } catch (error) {
      this.finish({ code: grpc.status.INTERNAL, details: `Error serializing response: ${(error as Error).message}` });
      return false;
    }
    const stream = this.stream;
    if (!stream.headersSent) stream.respond(this.responseHeaders, { waitForTrailers: true });
    // The buffer is reused once HTTP/2 wrote it; after a failed write it may still be referenced, so it is dropped.
    const room = stream.write(frame.bytes, frame.pooled === undefined ? undefined : (error) => error || this.frames.release(frame));
    // HTTP/2 streams want no more than 16 KiB buffered; grpc-js's call takes up to 16 replies
    // before it answers false, whatever their size: as many frames of the largest size here. The
    // stream emits 'drain' once what it buffered is written.
    return room || stream.writableLength <= WRITE_BUFFER_FRAMES * this.method.replyFrameBytesMax;
  }

  /** Ends the call with OK after the replies written. */
  end(): void {
    this.finish(OK_STATUS);
  }

  /** A handler's error, as grpc-js's ServerDuplexStream takes it: the call ends with its status (and listeners hear it). */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'error') return super.emit(event, ...args);
    const error = args[0] as Partial<grpc.ServiceError> | undefined;
    this.finish({ code: error?.code ?? grpc.status.UNKNOWN, details: error?.details ?? error?.message ?? String(error) });
    return this.listenerCount('error') > 0 ? super.emit('error', ...args) : false;
  }

  destroy(error?: Error): void {
    if (error) this.emit('error', error);
    else this.finish({ code: grpc.status.CANCELLED, details: 'Cancelled on the server' });
  }

  private read(chunk: Buffer): void {
    if (this.finished) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    const bytes = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let at = 0;
    while (bytes.length - at >= FRAME_HEADER_BYTES) {
      if (bytes[at] !== 0) return this.finish({ code: grpc.status.INTERNAL, details: 'a compressed request message without a grpc-encoding header' });
      const length = bytes.readUInt32BE(at + 1);
      if (length > this.options.receiveBytesMax) {
        return this.finish({ code: grpc.status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${length} vs ${this.options.receiveBytesMax})` });
      }
      const end = at + FRAME_HEADER_BYTES + length;
      if (end > bytes.length) break;
      let request: unknown;
      try {
        request = this.method.decode(bytes.subarray(at + FRAME_HEADER_BYTES, end));
      } catch (error) {
        return this.finish({ code: grpc.status.INTERNAL, details: `Error deserializing request: ${(error as Error).message}` });
      }
      at = end;
      super.emit('data', request);
      if (this.finished) return;
    }
    const rest = bytes.length - at;
    this.chunks = rest === 0 ? [] : [bytes.subarray(at)];
    this.buffered = rest;
    this.needed = rest < FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES : FRAME_HEADER_BYTES + bytes.readUInt32BE(at + 1);
  }

  private expire(): void {
    this.finish({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.notifyCancelled();
  }

  /** The call's status: in trailers after the replies written, or a trailers-only answer when there were none. */
  private finish(status: CallStatus): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.deadlineTimer);
    this.chunks = [];
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      stream.respond(trailersOnly(status), { endStream: true });
      return;
    }
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status.code), 'grpc-message': encodeURI(status.details) }));
    stream.end();
  }

  private notifyCancelled(): void {
    if (this.cancelNotified) return;
    this.cancelNotified = true;
    super.emit('cancelled');
  }
}
