// A slave's path to its master: a client call the master must serve is sent on to it over a cached
// grpc-js client, with the client's metadata. While no master answers (an election is running),
// the call is held up to `holdMs` and retried as soon as the role provider names a master, then
// answered NO_MASTER (HA_NOT_AVAILABLE: the official producer retries it at once). It never fails
// fast: the official client isolates an endpoint that failed until it shuts down.
import * as grpc from '@grpc/grpc-js';
import { RmqError } from '@rmq/base';
import { create, createClient, durationFromMs, durationMs, isRetryableElsewhere, statusOf, v2, type ServiceClient } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import { viewChange, type RoleProvider, type RoleView } from './role-provider';

type Service = typeof v2.MessagingService.method;
type Client = ServiceClient<Service>;

/** Set on every forwarded call: a broker never forwards a call that carries it (no loops). */
export const FORWARDED_BY_HEADER = 'x-rmq-forwarded-by';
/** Between retries while the master does not change. */
const RETRY_INTERVAL_MS = 100;
/** Kept off the client's deadline, so our answer reaches it before it gives up. */
const DEADLINE_MARGIN_MS = 200;
/** The deadline of a forward for a caller that set none. */
const DEADLINE_DEFAULT_MS = 30_000;
/** Masters' clients kept open; a group has one master, a few after failovers. */
const CLIENT_COUNT_MAX = 8;

export type ForwardOutcome = 'forwarded' | 'no_master' | 'served_locally';

export interface ForwarderOptions {
  roles: RoleProvider;
  /** This broker's client endpoint: never forwarded to. */
  selfEndpoint: string;
  brokerName: string;
  holdMs: number;
  log: Logger;
  onForward: (method: string, outcome: ForwardOutcome) => void;
  /** TLS to the master (--tls-ca-file); plaintext without. */
  credentials?: () => grpc.ChannelCredentials;
}

export type UnaryResult<R> = { kind: 'reply'; reply: R } | { kind: 'local' };

export class MasterForwarder {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly options: ForwarderOptions) {}

  /** Sends a unary call to the master, holding it while none answers; `local` when this broker became master meanwhile. */
  async unary<R extends { status?: v2.Status }>(
    method: keyof Service & string,
    request: unknown,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    noMasterReply: (status: v2.Status) => R,
  ): Promise<UnaryResult<R>> {
    const attempt = this.attempts(call);
    let last: R | undefined;
    for (;;) {
      const view = this.options.roles.current();
      if (view.role === 'master') return this.done(method, 'served_locally', { kind: 'local' });
      const master = this.masterOf(view);
      if (master) {
        try {
          const send = this.client(master)[method] as unknown as (request: unknown, options: object) => Promise<R>;
          const reply = await send(request, attempt.callOptions());
          // HA_NOT_AVAILABLE: the master we knew is master no more (or cannot take writes yet): wait for the next.
          if (reply.status?.code !== v2.Code.HA_NOT_AVAILABLE) return this.done(method, 'forwarded', { kind: 'reply', reply });
          last = reply;
          attempt.reason = `${master} answered: ${reply.status.message}`;
        } catch (error) {
          attempt.reason = `${master} unreachable: ${(error as grpc.ServiceError).details ?? String(error)}`;
          if (!isRetryableElsewhere(error)) return this.done(method, 'no_master', { kind: 'reply', reply: noMasterReply(attempt.noMaster()) });
        }
        this.options.roles.masterUnreachable(master);
      }
      if (!(await attempt.waitForChange(view))) {
        return this.done(method, last ? 'forwarded' : 'no_master', { kind: 'reply', reply: last ?? noMasterReply(attempt.noMaster()) });
      }
    }
  }

  /**
   * Relays ReceiveMessage from the master frame by frame; `local` when this broker became master.
   * A stream that breaks before its first message is retried on the next master, with the long
   * poll cut to what is left of the client's deadline; one that breaks after a message ends OK
   * (those messages were handed out; the rest come back after their invisible time).
   */
  async receive(call: grpc.ServerWritableStream<v2.ReceiveMessageRequest, v2.ReceiveMessageResponse>): Promise<'local' | 'done'> {
    const attempt = this.attempts(call);
    const finish = (status: v2.Status) => {
      if (!call.writableEnded && !call.destroyed) {
        call.write(statusFrame(status));
        call.end();
      }
    };
    for (;;) {
      const view = this.options.roles.current();
      if (view.role === 'master') return this.done('receiveMessage', 'served_locally', 'local');
      const master = this.masterOf(view);
      if (master) {
        const pollMs = attempt.pollMsLeft(call.request);
        if (pollMs < 0) {
          finish(create(v2.StatusSchema, { code: v2.Code.MESSAGE_NOT_FOUND, message: 'no new message within the long-polling time' }));
          return this.done('receiveMessage', 'forwarded', 'done');
        }
        const request = { ...call.request, longPollingTimeout: durationFromMs(pollMs) };
        const relayed = await this.relay(this.client(master).receiveMessage(request, attempt.callOptions()), call);
        if (relayed.kind === 'ended') {
          finish(relayed.status ?? create(v2.StatusSchema, { code: v2.Code.OK, message: 'OK' }));
          return this.done('receiveMessage', 'forwarded', 'done');
        }
        if (call.cancelled || attempt.signal.aborted) return this.done('receiveMessage', 'forwarded', 'done');
        if (relayed.messages > 0) {
          finish(create(v2.StatusSchema, { code: v2.Code.OK, message: 'OK' }));
          return this.done('receiveMessage', 'forwarded', 'done');
        }
        attempt.reason = `${master} unreachable: ${relayed.error}`;
        this.options.roles.masterUnreachable(master);
      }
      if (!(await attempt.waitForChange(view))) {
        finish(attempt.noMaster());
        return this.done('receiveMessage', 'no_master', 'done');
      }
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private done<T>(method: string, outcome: ForwardOutcome, result: T): T {
    this.options.onForward(method, outcome);
    return result;
  }

  private masterOf(view: RoleView): string | undefined {
    return view.masterEndpoint && view.masterEndpoint !== this.options.selfEndpoint ? view.masterEndpoint : undefined;
  }

  private client(endpoint: string): Client {
    let client = this.clients.get(endpoint);
    if (!client) {
      if (this.clients.size >= CLIENT_COUNT_MAX) {
        const [oldest, stale] = this.clients.entries().next().value as [string, Client];
        stale.close();
        this.clients.delete(oldest);
      }
      client = createClient(v2.MessagingService, endpoint, {}, this.options.credentials?.());
      this.clients.set(endpoint, client);
    }
    return client;
  }

  /** Frames from the master go to the client as they come; the master's status frame is kept for the end. */
  private relay(upstream: grpc.ClientReadableStream<v2.ReceiveMessageResponse>, call: grpc.ServerWritableStream<unknown, v2.ReceiveMessageResponse>) {
    return new Promise<{ kind: 'ended'; status: v2.Status | undefined } | { kind: 'broken'; messages: number; error: string }>((resolve) => {
      let messages = 0;
      let status: v2.Status | undefined;
      upstream.on('data', (frame: v2.ReceiveMessageResponse) => {
        if (frame.content.case === 'status') status = frame.content.value;
        else if (!call.writableEnded && !call.destroyed) {
          if (frame.content.case === 'message') messages += 1;
          call.write(frame);
        }
      });
      upstream.on('error', (error: grpc.ServiceError) => resolve({ kind: 'broken', messages, error: error.details ?? error.message }));
      upstream.on('end', () => resolve({ kind: 'ended', status }));
    });
  }

  private attempts(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): HeldCall {
    return new HeldCall(call, this.options);
  }
}

/** The bookkeeping of one forwarded call: the client's deadline, the hold, why no master answered. */
class HeldCall {
  reason = 'no master is known for the group';
  readonly signal: AbortSignal;
  private readonly startedMs = Date.now();
  private readonly deadlineMs: number;
  private readonly metadata: grpc.Metadata;
  private holdEndsMs: number | undefined;

  constructor(
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
    private readonly options: Pick<ForwarderOptions, 'roles' | 'holdMs' | 'brokerName' | 'selfEndpoint'>,
  ) {
    const deadline = call.getDeadline();
    const clientDeadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : this.startedMs + DEADLINE_DEFAULT_MS;
    this.deadlineMs = clientDeadlineMs - DEADLINE_MARGIN_MS;
    const abort = new AbortController();
    call.once('cancelled', () => abort.abort());
    this.signal = abort.signal;
    this.metadata = forwardedMetadata(call.metadata, options.selfEndpoint);
  }

  callOptions() {
    return { metadata: this.metadata, deadlineMs: Math.max(1, this.deadlineMs - Date.now()), signal: this.signal };
  }

  /** How long a long poll may last: as asked the first time; cut to beat the client's deadline when re-issued. */
  pollMsLeft(request: v2.ReceiveMessageRequest): number {
    const askedMs = request.longPollingTimeout ? durationMs(request.longPollingTimeout) : undefined;
    if (this.holdEndsMs === undefined && askedMs !== undefined) return askedMs;
    return Math.min(askedMs ?? Infinity, this.deadlineMs - Date.now() - DEADLINE_MARGIN_MS);
  }

  /** Waits for the next master (or a retry tick); false once the hold or the client's deadline is over. */
  async waitForChange(view: RoleView): Promise<boolean> {
    this.holdEndsMs ??= Math.min(Date.now() + this.options.holdMs, this.deadlineMs);
    const leftMs = this.holdEndsMs - Date.now();
    if (leftMs <= 0 || this.signal.aborted) return false;
    await viewChange(this.options.roles, view, Math.min(leftMs, RETRY_INTERVAL_MS), this.signal);
    return !this.signal.aborted;
  }

  noMaster(): v2.Status {
    return statusOf(new RmqError('NO_MASTER', { brokerName: this.options.brokerName, reason: this.reason, waitedMs: Date.now() - this.startedMs }));
  }
}

function statusFrame(status: v2.Status): v2.ReceiveMessageResponse {
  return create(v2.ReceiveMessageResponseSchema, { content: { case: 'status', value: status } });
}

/** The client's own headers (x-mq-client-id, namespace, request id, credentials), marked as forwarded. */
function forwardedMetadata(incoming: grpc.Metadata, selfEndpoint: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (key.startsWith('x-') || key === 'authorization') metadata.set(key, value as string);
  }
  metadata.set(FORWARDED_BY_HEADER, selfEndpoint);
  return metadata;
}

