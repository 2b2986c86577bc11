// Keeps this broker registered with every name server: at start, on every tick, and whenever the
// broker asks (after a topic is created). Name servers are independent, so each gets every call.
// A name server that is down never stops the broker: failures are logged and retried next tick.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Credentials } from '@rmq/base';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createClient, namesrv, signedMetadata, type ServiceClient } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';

export type RegistrationInit = MessageInitShape<typeof namesrv.RegisterBrokerRequestSchema>;
type BrokerIdentityInit = MessageInitShape<typeof namesrv.BrokerIdentitySchema>;

export const REGISTER_INTERVAL_MS_DEFAULT = 10_000;
/** A name server keeps a broker for this many missed heartbeats, so one lost call is harmless. */
export const LEASE_INTERVALS = 3;
export const CALL_DEADLINE_MS_DEFAULT = 3_000;
export const UNREGISTER_DEADLINE_MS_DEFAULT = 2_000;

export interface NameServerRegistrarOptions {
  /** host:port of each name server. */
  nameServers: readonly string[];
  log: Logger;
  /** The broker's current registration; its leaseMs is replaced by the registrar's. */
  registration: () => RegistrationInit;
  intervalMs?: number;
  /** Deadline of each RegisterBroker call. */
  callDeadlineMs?: number;
  /** Deadline of each UnregisterBroker call made by stop(). */
  unregisterDeadlineMs?: number;
  /** Signs registrations with the cluster's shared secret, for name servers that require it. */
  clusterCredentials?: Credentials;
  /** TLS to the name servers; plaintext when absent. */
  channelCredentials?: () => ChannelCredentials;
}

export interface RegistrationResult {
  nameServer: string;
  ok: boolean;
  /** The lease the name server granted, when ok. */
  leaseMs?: number;
  error?: string;
}

type NameServerClient = ServiceClient<typeof namesrv.NameServerService.method>;
type NameServerState = 'unknown' | 'registered' | 'failing';

export class NameServerRegistrar {
  readonly intervalMs: number;
  readonly leaseMs: number;
  private readonly callDeadlineMs: number;
  private readonly unregisterDeadlineMs: number;
  private readonly log: Logger;
  private readonly clients = new Map<string, NameServerClient>();
  private readonly states = new Map<string, NameServerState>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** At most one round runs and one waits; later asks join the waiting one. */
  private running: Promise<unknown> = Promise.resolve();
  private queued: Promise<RegistrationResult[]> | undefined;
  private lastBroker: BrokerIdentityInit | undefined;
  private stopped = false;

  constructor(private readonly options: NameServerRegistrarOptions) {
    this.intervalMs = options.intervalMs ?? REGISTER_INTERVAL_MS_DEFAULT;
    if (!(this.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${this.intervalMs}`);
    this.leaseMs = LEASE_INTERVALS * this.intervalMs;
    this.callDeadlineMs = options.callDeadlineMs ?? CALL_DEADLINE_MS_DEFAULT;
    this.unregisterDeadlineMs = options.unregisterDeadlineMs ?? UNREGISTER_DEADLINE_MS_DEFAULT;
    this.log = options.log.child({ component: 'name-server-registrar' });
    for (const address of new Set(options.nameServers)) {
      this.clients.set(address, createClient(namesrv.NameServerService, address, {}, options.channelCredentials?.()));
      this.states.set(address, 'unknown');
    }
  }

  /** Starts the heartbeat and resolves when the first round is done (it never rejects). */
  start(): Promise<RegistrationResult[]> {
    if (this.timer || this.stopped) return Promise.resolve([]);
    this.timer = setInterval(() => void this.registerNow(), this.intervalMs);
    this.timer.unref();
    return this.registerNow();
  }

  /** Sends the current registration to every name server now; resolves with each outcome, never rejects. */
  registerNow(): Promise<RegistrationResult[]> {
    if (this.stopped) return Promise.resolve([]);
    if (this.queued) return this.queued;
    const round = this.running.then(() => {
      this.queued = undefined;
      return this.registerAll();
    });
    this.queued = round;
    this.running = round;
    return round;
  }

  /**
   * Stops the heartbeat, cancels a round in flight, then tells every name server the broker is
   * gone (each call bounded by unregisterDeadlineMs) so routes drop it at once, not after the lease.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.abort.abort(new Error('registrar stopped'));
    await this.running;
    const broker = this.lastBroker ?? this.buildRequest()?.broker;
    if (broker) {
      await Promise.all(
        [...this.clients].map(async ([address, client]) => {
          try {
            await client.unregisterBroker({ broker }, { deadlineMs: this.unregisterDeadlineMs, metadata: this.signed() });
            this.log.info('unregistered from name server', { nameServer: address });
          } catch (error) {
            this.log.warn('unregister from name server failed; it will drop the broker when the lease runs out', {
              nameServer: address,
              error: messageOf(error),
            });
          }
        }),
      );
    }
    for (const client of this.clients.values()) client.close();
  }

  private signed() {
    return signedMetadata(this.options.clusterCredentials, Date.now());
  }

  private async registerAll(): Promise<RegistrationResult[]> {
    if (this.stopped) return [];
    const request = this.buildRequest();
    if (!request) return [];
    this.lastBroker = request.broker;
    return Promise.all([...this.clients].map(([address, client]) => this.registerWith(address, client, request)));
  }

  private buildRequest(): RegistrationInit | undefined {
    try {
      return { ...this.options.registration(), leaseMs: BigInt(this.leaseMs) };
    } catch (error) {
      this.log.error('could not build the broker registration', { error });
      return undefined;
    }
  }

  private async registerWith(address: string, client: NameServerClient, request: RegistrationInit): Promise<RegistrationResult> {
    const before = this.states.get(address);
    try {
      const response = await client.registerBroker(request, { deadlineMs: this.callDeadlineMs, signal: this.abort.signal, metadata: this.signed() });
      const leaseMs = Number(response.leaseMs);
      this.states.set(address, 'registered');
      if (before !== 'registered') this.log.info('registered with name server', { nameServer: address, leaseMs });
      if (leaseMs <= this.intervalMs) {
        this.log.warn('name server grants a lease no longer than the heartbeat interval; the broker may drop out of routes', {
          nameServer: address,
          leaseMs,
          intervalMs: this.intervalMs,
        });
      }
      return { nameServer: address, ok: true, leaseMs };
    } catch (error) {
      if (this.stopped) return { nameServer: address, ok: false, error: 'registrar stopped' };
      this.states.set(address, 'failing');
      // Say it once per outage; repeats go to debug so a dead name server does not flood the log.
      const fields = { nameServer: address, error: messageOf(error), retryInMs: this.intervalMs };
      if (before !== 'failing') this.log.warn('registration with name server failed', fields);
      else this.log.debug('registration with name server still failing', fields);
      return { nameServer: address, ok: false, error: messageOf(error) };
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
