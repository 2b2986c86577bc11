// Applies a RequestBudget to every call of a gRPC server whose request is one message (unary and
// server-streaming calls: SendMessage and the like; streams of small messages pass untouched).
//
// grpc-js reads a request whole before any handler or interceptor sees it, so a budget checked
// there would bound nothing: a flood of large sends is in memory (twice: HTTP/2 chunks, then
// joined) before it could be refused. The size is known earlier: the first 5 bytes of a gRPC
// request are its frame header (compressed flag, 4-byte length). This interceptor reads them from
// the call's HTTP/2 stream as they arrive, takes the request's size from the budget, and when
// the budget refuses, answers TOO_MANY_REQUESTS right away: grpc-js drops the rest of the
// request (and HTTP/2 flow control stops the sender). The bytes are given back when the call
// ends: answered, failed, cancelled or past its deadline; a request that does not arrive whole
// within GRPC_SERVER_LIMITS.requestReadMsMax is ended, so a stalled sender cannot keep its share.
import type { Http2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { inBandStatusReply } from './call-guard';
import type { RmqError } from '@rmq/base';
import { GRPC_SERVER_LIMITS } from './limits';
import type { RequestBudget } from './request-budget';
import { statusOf, toServiceError } from './status';

const GRPC_FRAME_HEADER_BYTES = 5;
/** How deep the chain of intercepting calls is searched for grpc-js's own call (it is the first). */
const CALL_CHAIN_DEPTH_MAX = 8;

type StatusReply = (status: ReturnType<typeof statusOf>) => MessageShape<DescMessage>;

export interface RequestBudgetScope {
  /** The services the server serves: a refusal is answered in-band for methods whose reply carries an apache Status. */
  services: readonly GenService<GenServiceMethods>[];
  /** Methods refused past the budget whatever their size, as gRPC paths (e.g. sends); others only above GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax. */
  alwaysBudgeted: readonly string[];
  /** GRPC_SERVER_LIMITS.requestReadMsMax unless given (tests). */
  requestReadMsMax?: number;
}

/** The interceptor for a server's options (`interceptors`). */
export function requestBudgetInterceptor(budget: RequestBudget, scope: RequestBudgetScope): grpc.ServerInterceptor {
  const alwaysBudgeted = new Set(scope.alwaysBudgeted);
  const readMsMax = scope.requestReadMsMax ?? GRPC_SERVER_LIMITS.requestReadMsMax;
  const inBandReplies = new Map<string, StatusReply | undefined>();
  for (const service of scope.services) {
    for (const method of service.methods) inBandReplies.set(`/${service.typeName}/${method.name}`, inBandStatusReply(method.output));
  }
  return (method, call) => {
    // Streams of small messages pass untouched: grpc-js's own call, no layer in between.
    if (method.requestStream) return call as grpc.ServerInterceptingCall;
    const stream = http2StreamOf(call);
    if (!stream) throw new Error('request budget: grpc-js no longer exposes the call\'s HTTP/2 stream; check request-budget-interceptor.ts against this grpc-js');
    const budgeted = new BudgetedCall(call, stream, budget, {
      alwaysBudgeted: alwaysBudgeted.has(method.path), readMsMax, inBandReply: inBandReplies.get(method.path),
    });
    // grpc-js types an interceptor's result as its ServerInterceptingCall class but uses only the
    // interface (server.js: handleUnary and the Server*Impl call objects).
    return budgeted as unknown as grpc.ServerInterceptingCall;
  };
}

/** What grpc-js's call reports to (grpc-js's InterceptingServerListener, not exported by its index). */
interface CallListener {
  onReceiveMetadata(metadata: grpc.Metadata): void;
  onReceiveMessage(message: unknown): void;
  onReceiveHalfClose(): void;
  onCancel(): void;
}

interface MethodBudget {
  /** Refused past the budget whatever its size (sends). */
  alwaysBudgeted: boolean;
  readMsMax: number;
  inBandReply: StatusReply | undefined;
}

/**
 * One call under the budget: both the call the handler sees (passed on to grpc-js's own call) and
 * the listener grpc-js's call reports to (passed on to the handler's). One object per call, and
 * no layer of grpc-js's generic ServerInterceptingCall, which costs every call several objects
 * and closures of its own.
 */
class BudgetedCall implements grpc.ServerInterceptingCallInterface, CallListener {
  private listener: CallListener | undefined;
  private held = 0;
  private ended = false;
  private refused = false;
  private header: Buffer | undefined;
  private stalled: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer): void => this.readFrameHeader(chunk);

  constructor(
    private readonly next: grpc.ServerInterceptingCallInterface,
    private readonly stream: Http2Stream,
    private readonly budget: RequestBudget,
    private readonly method: MethodBudget,
  ) {
    // Before grpc-js's own listener: a refused request's first chunk is never decoded.
    stream.prependListener('data', this.onData);
  }

  // ---- the call, as the handler uses it ----
  start(listener: CallListener): void {
    this.listener = listener;
    this.next.start(this);
  }
  sendMetadata(metadata: grpc.Metadata): void {
    this.next.sendMetadata(metadata);
  }
  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }
  sendStatus(status: Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.end();
    this.next.sendStatus(status);
  }
  startRead(): void {
    this.next.startRead();
  }
  getPeer(): string {
    return this.next.getPeer();
  }
  getDeadline(): grpc.Deadline {
    return this.next.getDeadline();
  }
  getHost(): string {
    return this.next.getHost();
  }
  getAuthContext(): ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']> {
    return this.next.getAuthContext();
  }
  getConnectionInfo(): ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.next.getConnectionInfo();
  }
  getMetricsRecorder(): ReturnType<grpc.ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.next.getMetricsRecorder();
  }

  // ---- the listener, as grpc-js's call reports to it ----
  onReceiveMetadata(metadata: grpc.Metadata): void {
    this.listener!.onReceiveMetadata(metadata);
  }
  /** A refused request never reaches its handler, even if it was read whole before the answer went. */
  onReceiveMessage(message: unknown): void {
    clearTimeout(this.stalled);
    if (!this.refused) this.listener!.onReceiveMessage(message);
  }
  onReceiveHalfClose(): void {
    if (!this.refused) this.listener!.onReceiveHalfClose();
  }
  onCancel(): void {
    this.end();
    this.listener!.onCancel();
  }

  // ---- the budget ----
  private readFrameHeader(chunk: Buffer): void {
    const header = this.header ? Buffer.concat([this.header, chunk]) : chunk;
    if (header.length < GRPC_FRAME_HEADER_BYTES) {
      this.header = header;
      return;
    }
    this.stream.removeListener('data', this.onData);
    this.header = undefined;
    this.admit(GRPC_FRAME_HEADER_BYTES + header.readUInt32BE(1), header.length);
  }

  private admit(bytes: number, arrivedBytes: number): void {
    const error = this.budget.take(bytes, bytes > GRPC_SERVER_LIMITS.requestBytesAlwaysAdmittedMax || this.method.alwaysBudgeted);
    if (error) {
      this.refuse({ code: grpc.status.RESOURCE_EXHAUSTED, details: error.message, metadata: toServiceError(error).metadata ?? new grpc.Metadata() }, error);
      return;
    }
    this.held = bytes;
    // A request that stops arriving would hold its share of the budget until the connection dies.
    if (arrivedBytes < bytes) {
      const readMsMax = this.method.readMsMax;
      this.stalled = setTimeout(() => {
        const details = `the request announced ${bytes} bytes and did not arrive whole within ${readMsMax} ms`;
        this.refuse({ code: grpc.status.DEADLINE_EXCEEDED, details, metadata: new grpc.Metadata() });
      }, readMsMax);
      this.stalled.unref();
    }
  }

  /** Ends the call now with `status`, or in-band where the reply has an apache Status; the handler never runs. */
  private refuse(status: grpc.StatusObject, inBand?: RmqError): void {
    this.refused = true;
    this.end();
    // Read no more of it (grpc-js drops what arrives once the call has ended).
    this.stream.pause();
    const reply = inBand && this.method.inBandReply?.(statusOf(inBand));
    if (reply) {
      this.next.sendMessage(reply, () => undefined);
      this.next.sendStatus({ code: grpc.status.OK, details: 'OK' });
    } else {
      this.next.sendStatus(status);
    }
  }

  /** Gives the bytes back, once, whatever ended the call. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.stalled);
    this.stream.removeListener('data', this.onData);
    this.budget.give(this.held);
    this.held = 0;
  }
}

/** grpc-js's own call (the first of the chain) holds the HTTP/2 stream; not part of its API: request-budget.int.test.ts fails when a grpc-js upgrade moves it. */
function http2StreamOf(call: grpc.ServerInterceptingCallInterface): Http2Stream | undefined {
  let current: unknown = call;
  for (let depth = 0; depth < CALL_CHAIN_DEPTH_MAX && current; depth++) {
    const candidate = current as { stream?: Http2Stream; nextCall?: unknown };
    if (candidate.stream && typeof candidate.stream.prependListener === 'function') return candidate.stream;
    current = candidate.nextCall;
  }
  return undefined;
}
