// One gRPC channel per broker endpoint, shared by everything a client object does, and the
// request metadata RocketMQ 5 brokers read (client id, request id, namespace; our zone).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { signedHeaders, systemClock, type Clock, type Credentials } from '@rmq/base';
import { channelCredentials, createClient, v2, type ClientTls, type ServiceClient } from '@rmq/contracts';

export type MessagingClient = ServiceClient<typeof v2.MessagingService.method>;

/** Header our brokers read to route a client to its zone (not a RocketMQ header). */
export const ZONE_HEADER = 'x-rmq-zone';
const CLIENT_VERSION = 'rmq-ts/0.1.0';
let clientSequence = 0;

/** How a client proves who it is and protects its connections; both optional. */
export interface SecurityOptions {
  /** Signs every request as RocketMQ 5 clients do (brokers with --auth). */
  credentials?: Credentials;
  /** TLS to the brokers; `{}` trusts the system's roots. */
  tls?: ClientTls;
  /** Time for signatures, message ids and route ages; the system clock unless a test drives it. */
  clock?: Clock;
}

export class Connections {
  /** `host@pid@sequence@startTime`, as the official clients make it. */
  readonly clientId: string;
  readonly clock: Clock;
  private readonly clients = new Map<string, MessagingClient>();
  private closed = false;

  constructor(private readonly settings: { namespace: string; zone: string } & SecurityOptions) {
    this.clock = settings.clock ?? systemClock;
    this.clientId = `${hostname()}@${process.pid}@${clientSequence++}@${this.clock.nowMs().toString(36)}`;
  }

  to(endpoint: string): MessagingClient {
    if (this.closed) throw new Error('the client is closed');
    let client = this.clients.get(endpoint);
    if (!client) this.clients.set(endpoint, (client = createClient(v2.MessagingService, endpoint, {}, channelCredentials(this.settings.tls))));
    return client;
  }

  /** `withZone` false: as a client without a zone (to see every broker a topic has). */
  metadata(withZone = true): grpc.Metadata {
    const metadata = new grpc.Metadata();
    metadata.set('x-mq-protocol', 'v2');
    metadata.set('x-mq-client-id', this.clientId);
    metadata.set('x-mq-request-id', randomUUID());
    metadata.set('x-mq-language', 'NODE_JS');
    metadata.set('x-mq-client-version', CLIENT_VERSION);
    if (this.settings.namespace) metadata.set('x-mq-namespace', this.settings.namespace);
    if (this.settings.zone && withZone) metadata.set(ZONE_HEADER, this.settings.zone);
    if (this.settings.credentials) {
      for (const [name, value] of Object.entries(signedHeaders(this.settings.credentials, this.clock.nowMs()))) metadata.set(name, value);
    }
    return metadata;
  }

  get zone(): string {
    return this.settings.zone;
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** `host:port` list from "a:1;b:2" or "a:1,b:2". */
export function parseEndpoints(endpoints: string): string[] {
  const list = endpoints.split(/[;,]/).map((endpoint) => endpoint.trim()).filter((endpoint) => endpoint !== '');
  if (list.length === 0) throw new Error(`no broker endpoint in "${endpoints}"; give host:port, several separated by ';'`);
  for (const endpoint of list) if (!/^[^:\s]+:\d{1,5}$/.test(endpoint)) throw new Error(`broker endpoint "${endpoint}" is not host:port`);
  return list;
}
