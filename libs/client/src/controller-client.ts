// A client of the replication controllers that finds the leader: it calls the last controller
// that answered first, then every other one given, and follows a NOT_LEADER reply to the leader
// it names. For the broker's controller link, the CLI and tests; every call has a deadline.
import { controller, controllerLeaderOf, createClient, errorCodeOf, type CallOptions, type PeerLink, type ServiceClient } from '@rmq/contracts';
import type { GenService } from '@bufbuild/protobuf/codegenv2';

type ControllerService = typeof controller.ControllerService extends GenService<infer S> ? S : never;
export type ControllerServiceClient = ServiceClient<ControllerService>;

export interface ControllerClientOptions {
  /** Deadline of each call to one controller. */
  callTimeoutMs: number;
  /** TLS and the cluster secret's signature (a controller with --cluster-secret-file); plaintext and unsigned without. */
  peer?: PeerLink;
}

export class ControllerClient {
  private readonly clients = new Map<string, ControllerServiceClient>();
  private preferred: string | undefined;

  constructor(
    readonly addresses: readonly string[],
    private readonly options: ControllerClientOptions,
  ) {
    if (addresses.length === 0) throw new Error('a controller client needs at least one controller address');
  }

  /** The controller that answered last (the leader, as far as this client knows). */
  leader(): string | undefined {
    return this.preferred;
  }

  /**
   * Runs `call` against the leading controller. Throws the last error when no controller
   * answered (each tried once, plus one redirect each).
   */
  async call<T>(call: (client: ControllerServiceClient, options: CallOptions) => Promise<T>): Promise<T> {
    const order = [...new Set([this.preferred, ...this.addresses].filter((address): address is string => address !== undefined))];
    let lastError: unknown;
    for (const address of order) {
      try {
        return await this.callAt(address, call);
      } catch (error) {
        lastError = error;
        const leader = errorCodeOf(error) === 'NOT_LEADER' ? controllerLeaderOf(error) : undefined;
        if (leader === undefined || leader === address) continue;
        try {
          return await this.callAt(leader, call);
        } catch (redirected) {
          lastError = redirected;
        }
      }
    }
    throw lastError;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private async callAt<T>(address: string, call: (client: ControllerServiceClient, options: CallOptions) => Promise<T>): Promise<T> {
    let client = this.clients.get(address);
    if (!client) {
      client = createClient(controller.ControllerService, address, {}, this.options.peer?.credentials());
      this.clients.set(address, client);
    }
    const result = await call(client, { deadlineMs: this.options.callTimeoutMs, ...(this.options.peer ? { metadata: this.options.peer.metadata() } : {}) });
    this.preferred = address;
    return result;
  }
}
