// The role provider until the controller drives roles: role and epoch from --role and --epoch,
// changed by hand with AdminService.SetBrokerRole (`rmq broker role`, a manual failover).
// A slave's master is --master-address when given; otherwise the master the name servers route
// for its group (the highest epoch, routed-members.ts), asked every second while none is known,
// every few seconds after, and at once when a forward to it failed. A slave registers in the
// epoch of the master it follows.
import type { ChannelCredentials } from '@grpc/grpc-js';
import { createClient, namesrv } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import type { BrokerRole } from '@rmq/routing';
import type { RoleAction, RoleEvent } from '@rmq/replication';
import { sameView, type RoleProvider, type RoleView } from './role-provider';
import { roleFromWire } from './route-resolver';

/** While no master is known, the name servers are asked this often. */
const LOOKUP_INTERVAL_UNKNOWN_MS = 1_000;
/** While one is known; a failed forward asks at once anyway. */
const LOOKUP_INTERVAL_KNOWN_MS = 5_000;
/** A failed forward asks again at most this often. */
const LOOKUP_SPACING_MS = 100;
const LOOKUP_DEADLINE_MS = 1_000;
const NO_ANSWER = Symbol('no name server answered');

export interface FlagRoleOptions {
  role: BrokerRole;
  epoch: number;
  /** This broker's client endpoint. */
  endpoint: string;
  clusterName: string;
  brokerName: string;
  brokerId: number;
  /** A fixed master for a slave ('' to ask the name servers). */
  masterAddress: string;
  nameServers: readonly string[];
  /** TLS to the name servers (--tls-ca-file); plaintext without. */
  credentials?: () => ChannelCredentials;
  log: Logger;
  /** Carries out role actions on the broker (the controller's role machine uses the same executor). */
  executor: { run(action: RoleAction): Promise<RoleEvent | void> };
}

export class FlagRoleProvider implements RoleProvider {
  private view: RoleView;
  private readonly listeners = new Set<(view: RoleView) => void>();
  private readonly clients: ReturnType<typeof createClient<typeof namesrv.NameServerService.method>>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lookup: Promise<void> | undefined;
  private lastLookupMs = 0;
  private closed = false;

  constructor(private readonly options: FlagRoleOptions) {
    const { role, epoch, endpoint, masterAddress } = options;
    this.view = { role, epoch, masterEndpoint: role === 'master' ? endpoint : masterAddress || undefined };
    if (!masterAddress) for (const address of options.nameServers) this.clients.push(createClient(namesrv.NameServerService, address, {}, options.credentials?.()));
    if (role === 'slave') this.schedule(0);
  }

  /**
   * A manual failover: the same actions, in the same order, as a promotion or demotion by the
   * controller: a new master writes its epoch to the epoch file, applies the state it copied,
   * then serves and registers at once; a slave refuses writes before anything else.
   */
  async assign(role: BrokerRole, epoch: number): Promise<RoleView> {
    const { executor, endpoint, masterAddress } = this.options;
    if (role === 'master') {
      if (!(Number.isSafeInteger(epoch) && epoch > this.view.epoch)) {
        throw new RmqError('BAD_REQUEST', { reason: `a new master needs an epoch above the current ${this.view.epoch}, got ${epoch}` });
      }
      clearTimeout(this.timer);
      // The follow loop ends first: left running, it would go on copying from (and, when that
      // broker came back, cut this log back to) the master this broker replaces.
      await executor.run({ kind: 'stopFollowing' });
      const written = await executor.run({ kind: 'beginEpoch', epoch });
      const startLogOffset = written && written.kind === 'epochWritten' ? written.startLogOffset : 0;
      await executor.run({ kind: 'serveAsMaster', epoch, startLogOffset, inSyncBrokerIds: [this.options.brokerId], inSyncSetVersion: 0 });
      this.change({ role, epoch, masterEndpoint: endpoint });
    } else {
      await executor.run({ kind: 'refuseWrites', epoch: this.view.epoch });
      this.change({ role, epoch: this.view.epoch, masterEndpoint: masterAddress || undefined });
      this.schedule(0);
    }
    return this.view;
  }

  current(): RoleView {
    return this.view;
  }

  onChange(listener: (view: RoleView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  masterUnreachable(_endpoint: string): void {
    if (this.clients.length === 0 || this.closed || this.view.role === 'master') return;
    this.schedule(Math.max(0, this.lastLookupMs + LOOKUP_SPACING_MS - Date.now()));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const client of this.clients) client.close();
  }

  private change(next: RoleView): void {
    if (sameView(next, this.view)) return;
    this.view = next;
    for (const listener of this.listeners) listener(next);
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.clients.length === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.lookUp(), delayMs);
    this.timer.unref();
  }

  private lookUp(): Promise<void> {
    this.lookup ??= this.findMaster()
      .then((master) => {
        // A name server outage says nothing about the master; a promotion meanwhile ends the lookups.
        if (master === NO_ANSWER || this.view.role === 'master') return;
        const next: RoleView = master ? { role: 'slave', epoch: master.epoch, masterEndpoint: master.endpoint } : { ...this.view, masterEndpoint: undefined };
        if (!sameView(next, this.view)) this.options.log.info(master ? 'following master' : 'no master known for the group', { master: next.masterEndpoint, epoch: next.epoch });
        this.change(next);
      })
      .finally(() => {
        this.lookup = undefined;
        this.lastLookupMs = Date.now();
        if (this.view.role === 'slave') this.schedule(this.view.masterEndpoint ? LOOKUP_INTERVAL_KNOWN_MS : LOOKUP_INTERVAL_UNKNOWN_MS);
      });
    return this.lookup;
  }

  /** The routed master of this broker's group as the first answering name server sees it. */
  private async findMaster(): Promise<{ endpoint: string; epoch: number } | undefined | typeof NO_ANSWER> {
    const { clusterName, brokerName, brokerId } = this.options;
    for (const client of this.clients) {
      try {
        const info = await client.getClusterInfo({}, { deadlineMs: LOOKUP_DEADLINE_MS });
        const master = info.brokers.find(({ broker, routed }) =>
          routed && broker?.broker?.clusterName === clusterName && broker.broker.brokerName === brokerName &&
          Number(broker.broker.brokerId) !== brokerId && roleFromWire(broker.role) === 'master');
        return master?.broker ? { endpoint: master.broker.endpoint, epoch: Number(master.broker.epoch) } : undefined;
      } catch (error) {
        this.options.log.debug('name server did not answer a master lookup', { error: error instanceof Error ? error.message : String(error) });
      }
    }
    return NO_ANSWER;
  }
}
