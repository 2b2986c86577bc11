// RecallMessage at the access point. The official Node client sends it to the endpoint it was
// configured with, a name server; the recall handle names the broker group whose log holds the
// schedule, and the name server sends the call on to that group's current master (by epoch, as
// routes name it) and relays the broker's answer as it is. The client's own headers go along
// (its request signature above all): the broker checks the client's rights, the name server
// adds none of its own. If the master does not answer, the group's slaves are tried: a slave
// forwards to its master and holds the call while an election runs.
import * as grpc from '@grpc/grpc-js';
import { RmqError } from '@rmq/base';
import { createClient, isRetryableElsewhere, v2, type ServiceClient } from '@rmq/contracts';
import { decodeRecallHandle } from '@rmq/messaging';
import type { Logger } from '@rmq/observability';
import type { RouteRegistry } from '@rmq/routing';

type Client = ServiceClient<typeof v2.MessagingService.method>;

/** Kept off the client's deadline, so that our answer reaches it before it gives up. */
const DEADLINE_MARGIN_MS = 200;
/** The deadline of a relayed call whose client set none. */
const DEADLINE_DEFAULT_MS = 30_000;
/** Brokers' clients kept open (least recently used closed first): a master per group, a few more after failovers. */
const CLIENT_COUNT_MAX = 64;

export interface RecallRelayDeps {
  routes: RouteRegistry;
  log: Logger;
  /** TLS to the brokers (--tls-ca-file); plaintext without. */
  credentials: () => grpc.ChannelCredentials;
}

type RecallReply = Pick<v2.RecallMessageResponse, 'status' | 'messageId'>;

export class RecallRelay {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly deps: RecallRelayDeps) {}

  /** The reply of the group's master, or throws a clear error when the handle or the group is not one to send to. */
  async recall(request: v2.RecallMessageRequest, call: grpc.ServerUnaryCall<unknown, unknown>, signal: AbortSignal): Promise<RecallReply> {
    const { brokerName } = decodeRecallHandle(request.recallHandle);
    if (brokerName === undefined) {
      throw new RmqError('INVALID_RECALL_HANDLE', {
        reason: 'it names no broker group (a broker of an older version issued it): recall at the master that took the send (`rmq message recall <handle> --broker <endpoint>`)',
      });
    }
    const group = this.deps.routes.groupOf(brokerName);
    if (!group) throw new RmqError('UNKNOWN_BROKER_GROUP', { brokerName, what: 'recall handle' });
    const candidates = [...(group.master ? [group.master] : []), ...group.slaves].map((member) => member.endpoint);
    const startedMs = Date.now();
    const deadlineMs = deadlineOf(call, startedMs);
    const metadata = clientHeaders(call.metadata);
    const failures: string[] = [];
    let busy: RecallReply | undefined;
    for (const [index, endpoint] of candidates.entries()) {
      const leftMs = deadlineMs - Date.now();
      if (leftMs <= 0 || signal.aborted) break;
      // A member that hangs (a cut cable, no reset) must leave time for the next: each but the last gets half of
      // what is left. A recall that went through but answered late is harmless: recalling again answers OK.
      const isLast = index === candidates.length - 1;
      try {
        const reply = await this.client(endpoint).recallMessage(request, { metadata, deadlineMs: isLast ? leftMs : Math.ceil(leftMs / 2), signal });
        // HA_NOT_AVAILABLE: that member cannot serve the group now (it stepped down, or its master is gone); try the next.
        if (reply.status?.code !== v2.Code.HA_NOT_AVAILABLE) return { status: reply.status, messageId: reply.messageId };
        busy = reply;
        failures.push(`${endpoint} answered: ${reply.status.message}`);
      } catch (error) {
        const reason = (error as grpc.ServiceError).details || String(error);
        failures.push(`${endpoint} unreachable: ${reason}`);
        this.deps.log.warn('recall: a broker of the group did not answer', { brokerName, endpoint, reason });
        const timedOut = (error as grpc.ServiceError).code === grpc.status.DEADLINE_EXCEEDED;
        if (signal.aborted || !(isRetryableElsewhere(error) || (timedOut && !isLast))) break;
      }
    }
    if (busy) return busy;
    const reason = candidates.length === 0
      ? `no member of epoch ${group.epoch} is registered`
      : failures.join('; ') || 'the call was cancelled or its deadline passed';
    throw new RmqError('NO_MASTER', { brokerName, reason, waitedMs: Date.now() - startedMs });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(endpoint: string): Client {
    let client = this.clients.get(endpoint);
    if (client) {
      this.clients.delete(endpoint); // to the back: most recently used
    } else {
      if (this.clients.size >= CLIENT_COUNT_MAX) {
        const [oldest, stale] = this.clients.entries().next().value as [string, Client];
        stale.close();
        this.clients.delete(oldest);
      }
      client = createClient(v2.MessagingService, endpoint, {}, this.deps.credentials());
    }
    this.clients.set(endpoint, client);
    return client;
  }
}

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>, nowMs: number): number {
  const deadline = call.getDeadline();
  const clientMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : nowMs + DEADLINE_DEFAULT_MS;
  return clientMs - DEADLINE_MARGIN_MS;
}

/** The client's RocketMQ headers (client id, namespace, request id, date-time) and its signature; nothing of ours. */
function clientHeaders(incoming: grpc.Metadata): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (key.startsWith('x-mq-') || key === 'authorization') metadata.set(key, value as string);
  }
  return metadata;
}

