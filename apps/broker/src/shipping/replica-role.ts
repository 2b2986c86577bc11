// This broker's place in its replica group and everything that follows from it: as master it
// records its epoch in the epoch file before its first write, runs the in-sync set and serves
// its slaves; as slave it follows its master's log and refuses every local write (sends,
// dead-letters, retries: they all go through the store's append). The role comes from flags
// (--role, --master, --epoch), or from the controller's role machine (role-executor.ts calls the
// step methods: prepareSlave, stopFollowing, serveAsMaster, describeMaster, truncateTo, becomeSlave).
import { join } from 'node:path';
import { RmqError, type Clock } from '@rmq/base';
import type { Logger } from '@rmq/observability';
import { createClient, replication, type PeerLink } from '@rmq/contracts';
import { EpochFile, type EpochEntry, type FlushMode, type MessageStore } from '@rmq/store';
import type { InSyncBounds } from './in-sync-set';
import { LogFollower, type FollowerStatus } from './log-follower';
import { describeProvenMaster } from './master-proof-check';
import { ReplicationMaster, type InSyncAuthority, type ReplicationStatus } from './replication-master';

export interface ReplicaRoleOptions {
  store: MessageStore;
  /** The store's folder: the epoch file lives beside the commit log it describes. */
  storeDir: string;
  brokerName: string;
  replicaId: string;
  /** This broker's client endpoint (known once its gRPC port is bound; told to the master for status). */
  endpoint: () => string;
  flushMode: FlushMode;
  bounds: InSyncBounds;
  minInSyncReplicas: number;
  clock: Clock;
  log: Logger;
  /** How this broker calls its master: TLS and the cluster secret's signature. */
  peer?: PeerLink;
  /** Follows the master over plain HTTP/2 (plain-follow.ts): only without TLS, cluster secret and tracing. */
  plainFollow?: boolean;
}

export type RoleStatus =
  | ({ role: 'master' } & ReplicationStatus)
  | ({ role: 'slave'; epoch: number; committedLogOffset: number } & FollowerStatus);

export class ReplicaRole {
  private masterSide: ReplicationMaster | undefined;
  private follower: LogFollower | undefined;
  /** Called after the log was cut back or started over (the broker state is rebuilt from the log). */
  onLogCut: (() => Promise<void>) | undefined;
  /** Under a controller: it commits the in-sync set a master asks for. */
  inSyncAuthority: InSyncAuthority | undefined;

  private constructor(
    private readonly options: ReplicaRoleOptions,
    private readonly epochs: EpochFile,
  ) {}

  static async open(options: ReplicaRoleOptions): Promise<ReplicaRole> {
    return new ReplicaRole(options, await EpochFile.open(join(options.storeDir, 'epochs.json')));
  }

  role(): 'master' | 'slave' {
    return this.masterSide ? 'master' : 'slave';
  }

  epoch(): number {
    return this.masterSide?.epoch ?? this.epochs.last()?.epoch ?? 0;
  }

  master(): ReplicationMaster | undefined {
    return this.masterSide;
  }

  /** The epoch file, shared with the controller link's executor (one writer, one view). */
  get epochFile(): EpochFile {
    return this.epochs;
  }

  async becomeMaster(epoch: number): Promise<void> {
    const { store } = this.options;
    await this.follower?.stop();
    this.follower = undefined;
    this.masterSide?.stop(); // a new epoch: its slaves subscribe again
    this.masterSide = undefined;
    const last = this.epochs.last();
    if (last && last.epoch > epoch) {
      throw new RmqError('BAD_REQUEST', { reason: `this broker's epoch file is at epoch ${last.epoch}; a master cannot go back to epoch ${epoch}` });
    }
    // Log written before any epoch was recorded counts as epoch 0, so slaves can place it.
    if (!last && store.writtenLogOffset > store.stats().logMinOffset) await this.epochs.begin(0, store.stats().logMinOffset);
    // On disk before the epoch's first write; a master restarted in the same epoch goes on with it.
    if (this.epochs.last()?.epoch !== epoch) await this.epochs.begin(epoch, store.writtenLogOffset);
    this.serveAsMaster(epoch);
  }

  /**
   * Starts serving as master of `epoch`, whose entry the epoch file already holds; under a
   * controller, with the in-sync set it committed.
   */
  serveAsMaster(epoch: number, committedSet?: { inSyncBrokerIds: readonly number[]; inSyncSetVersion: number }): void {
    const { store, log } = this.options;
    this.masterSide?.stop();
    const authority = this.inSyncAuthority;
    this.masterSide = new ReplicationMaster({
      store, brokerName: this.options.brokerName, epoch, epochs: () => this.epochs.entries(), flushMode: this.options.flushMode,
      bounds: this.options.bounds, minInSyncReplicas: this.options.minInSyncReplicas, clock: this.options.clock, log,
      ...(authority && committedSet ? { controlled: { authority, replicaId: this.options.replicaId, ...committedSet } } : {}),
    });
    store.refuseAppends(undefined);
    this.masterSide.start();
    log.info('serving as master', { epoch, logEndOffset: store.writtenLogOffset, epochs: this.epochs.entries() });
  }

  /** Refuses local writes and exposes only what a master committed, before the follow loop starts. */
  prepareSlave(): void {
    const { store } = this.options;
    this.masterSide?.stop();
    this.masterSide = undefined;
    store.setCommitPolicy('replicated');
    store.refuseAppends(new RmqError('NOT_MASTER', { brokerName: this.options.brokerName, epoch: this.epoch() }));
  }

  async stopFollowing(): Promise<void> {
    await this.follower?.stop();
    this.follower = undefined;
  }

  /** The master's epoch entries and log end (the role machine's fetchMasterEpochs). */
  async describeMaster(masterEndpoint: string): Promise<{ entries: EpochEntry[]; logEndOffset: number }> {
    const client = createClient(replication.ReplicationService, masterEndpoint, {}, this.options.peer?.credentials());
    try {
      const described = await describeProvenMaster(client, { brokerName: this.options.brokerName, masterEndpoint, peer: this.options.peer });
      return { entries: described.epochs.map((entry) => ({ epoch: Number(entry.epoch), startLogOffset: Number(entry.startLogOffset) })), logEndOffset: Number(described.logEndOffset) };
    } finally {
      client.close();
    }
  }

  /** Cuts the log and the epoch file back to `logOffset` (the role machine's truncate). */
  async truncateTo(logOffset: number): Promise<void> {
    if (logOffset < this.options.store.writtenLogOffset) {
      await this.options.store.truncateTo(logOffset);
      await this.onLogCut?.();
    }
    await this.epochs.truncateFrom(logOffset - 1);
  }

  async becomeSlave(masterEndpoint: string): Promise<void> {
    const { store, log } = this.options;
    this.prepareSlave();
    await this.follower?.stop();
    this.follower = new LogFollower({
      store, epochs: this.epochs, brokerName: this.options.brokerName, replicaId: this.options.replicaId, endpoint: this.options.endpoint(), masterEndpoint, log, peer: this.options.peer, plainFollow: this.options.plainFollow,
      onLogCut: () => this.onLogCut?.() ?? Promise.resolve(),
    });
    this.follower.start();
    log.info('serving as slave', { master: masterEndpoint, logEndOffset: store.writtenLogOffset });
  }

  status(): RoleStatus {
    if (this.masterSide) return { role: 'master', ...this.masterSide.status() };
    const follower = this.follower?.status() ?? { masterEndpoint: '', connected: false, masterEndLogOffset: 0, masterCommittedLogOffset: 0, lagBytes: 0 };
    return { role: 'slave', epoch: this.epoch(), committedLogOffset: this.options.store.committedLogOffset, ...follower };
  }

  async stop(): Promise<void> {
    this.masterSide?.stop();
    await this.follower?.stop();
  }
}
