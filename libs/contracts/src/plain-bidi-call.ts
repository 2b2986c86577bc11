// One bidirectional gRPC call over a plain node:http2 session (no TLS, no call credentials), for
// a stream that carries large messages one way: a slave's Follow, which receives its master's
// log in messages of up to 1 MiB. grpc-js gathers each message's 16 KiB DATA chunks in a list,
// concatenates them, and passes the result through its decoder, stream and listener layers; here
// each message's bytes are copied once, as they arrive, into memory of its own that the decoded
// message may keep (the slave keeps shipped bytes as its log's chunks). What the server sees is
// what grpc-js's client sends; the events are those of grpc-js's ClientDuplexStream that a
// follower uses: 'metadata' (response headers), 'data' (each decoded message), 'error' (a status
// other than OK, as a ServiceError), 'end' (OK).
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { FRAME_HEADER_BYTES } from './fast-stream-writer';

export interface PlainBidiCallOptions<Request, Reply> {
  /** host:port of a server without TLS. */
  endpoint: string;
  /** The gRPC path, e.g. /rmq.replication.v1.ReplicationService/Follow. */
  path: string;
  encode: (request: Request) => Uint8Array;
  /** Decodes one reply; it may keep `bytes` (they are the reply's own). */
  decode: (bytes: Buffer) => Reply;
  /** HTTP/2 receive window of the call and of its session: how much the server may send before this process reads it. */
  receiveWindowBytes: number;
  /** A larger reply ends the call with RESOURCE_EXHAUSTED, as grpc-js's receive limit does. */
  receiveBytesMax: number;
  /** Cancels the call (CANCELLED) when it aborts. */
  signal?: AbortSignal;
}

const EMPTY = Buffer.alloc(0);

export class PlainBidiCall<Request, Reply> extends EventEmitter {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private status: { code: number; details: string; metadata: grpc.Metadata } | undefined;
  private settled = false;
  /** The reply being received: its prefix's bytes so far, then its body. */
  private readonly prefix = Buffer.alloc(FRAME_HEADER_BYTES);
  private prefixFilled = 0;
  private body = EMPTY;
  private bodyFilled = 0;
  private readonly onAbort = (): void => this.cancel();

  constructor(private readonly options: PlainBidiCallOptions<Request, Reply>) {
    super();
    const window = options.receiveWindowBytes;
    this.session = http2.connect(`http://${options.endpoint}`, { settings: { initialWindowSize: window }, maxSessionMemory: Math.ceil((4 * window) / (1024 * 1024)) });
    this.session.on('error', () => undefined); // the stream fails too: its 'close' settles the call
    this.session.once('connect', () => this.session.setLocalWindowSize(window));
    this.stream = this.session.request({
      ':method': 'POST', ':path': options.path, ':authority': options.endpoint, 'content-type': 'application/grpc', te: 'trailers', 'grpc-accept-encoding': 'identity',
    });
    this.stream.on('error', () => undefined); // its 'close' settles the call
    this.stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) return this.noteStatus(headers); // trailers-only
      this.emit('metadata', grpc.Metadata.fromHttp2Headers(headers));
    });
    this.stream.on('trailers', (trailers) => this.noteStatus(trailers));
    this.stream.on('data', (chunk: Buffer) => this.read(chunk));
    // The replies end with the status (trailers): the call is over, though this side may not have ended.
    this.stream.once('end', () => this.status !== undefined && this.settle());
    this.stream.once('close', () => this.settle());
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Sends one request; false while HTTP/2's buffer is full (as a Writable's write). */
  write(request: Request): boolean {
    if (this.settled || this.stream.destroyed) return false;
    const body = this.options.encode(request);
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, FRAME_HEADER_BYTES);
    return this.stream.write(frame);
  }

  /** No more requests (the server sees the request stream end); replies may follow. */
  end(): void {
    if (!this.settled) this.stream.end();
  }

  /** Ends the call from this side: CANCELLED, unless it already ended. */
  cancel(): void {
    this.fail(grpc.status.CANCELLED, 'Cancelled on client');
  }

  private read(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.settled) {
      if (this.prefixFilled < FRAME_HEADER_BYTES) {
        const taken = Math.min(FRAME_HEADER_BYTES - this.prefixFilled, chunk.length - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + taken);
        this.prefixFilled += taken;
        at += taken;
        if (this.prefixFilled < FRAME_HEADER_BYTES) return;
        if (this.prefix[0] !== 0) return this.fail(grpc.status.INTERNAL, 'a compressed reply the call did not ask for');
        const length = this.prefix.readUInt32BE(1);
        if (length > this.options.receiveBytesMax) return this.fail(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.options.receiveBytesMax})`);
        this.body = length === 0 ? EMPTY : Buffer.allocUnsafeSlow(length);
        this.bodyFilled = 0;
      }
      const taken = Math.min(this.body.length - this.bodyFilled, chunk.length - at);
      chunk.copy(this.body, this.bodyFilled, at, at + taken);
      this.bodyFilled += taken;
      at += taken;
      if (this.bodyFilled < this.body.length) return;
      const body = this.body;
      this.body = EMPTY;
      this.prefixFilled = 0;
      let reply: Reply;
      try {
        reply = this.options.decode(body);
      } catch (error) {
        return this.fail(grpc.status.INTERNAL, `Response message parsing error: ${(error as Error).message}`);
      }
      this.emit('data', reply);
    }
  }

  private noteStatus(headers: http2.IncomingHttpHeaders): void {
    const code = Number(headers['grpc-status']);
    let details = String(headers['grpc-message'] ?? '');
    try {
      details = decodeURIComponent(details);
    } catch {
      // grpc-js keeps a message it cannot decode as it came
    }
    this.status = { code: Number.isInteger(code) ? code : grpc.status.UNKNOWN, details, metadata: grpc.Metadata.fromHttp2Headers(headers) };
  }

  private fail(code: grpc.status, details: string): void {
    if (this.settled) return;
    this.status = { code, details, metadata: new grpc.Metadata() };
    this.settle();
  }

  /** The call is over: 'end' for OK, else 'error' with its status; the stream and session are closed. */
  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const status = this.status ?? { code: grpc.status.UNAVAILABLE, details: `the stream closed without a status (HTTP/2 code ${this.stream.rstCode ?? 'none'})`, metadata: new grpc.Metadata() };
    if (!this.stream.closed) this.stream.close(status.code === grpc.status.CANCELLED ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_NO_ERROR);
    this.session.close();
    if (status.code === grpc.status.OK) {
      this.emit('end');
      return;
    }
    const error = Object.assign(new Error(`${status.code} ${grpc.status[status.code] ?? ''}: ${status.details}`), { code: status.code, details: status.details, metadata: status.metadata });
    this.emit('error', error);
  }
}
