// Where the controller's durable state lives, behind compare-and-set: every change of a group
// (master, epoch, in-sync set, members) is written only if the group is still at the revision
// the change was computed from, and only while this controller leads. So two controllers that
// both believe they lead can never both commit (the etcd store checks its leadership key in the
// same transaction). Liveness is not here: it lives in the leader's memory.
import type { ReplicaGroup } from '@rmq/replication';

/** A group with the store's revision of it; an opaque token, only compared for equality. */
export interface VersionedGroup {
  group: ReplicaGroup;
  revision: string;
}

export type CasResult =
  | { ok: true; revision: string }
  /** The group changed under us (current is its newest state, absent if deleted), or we lost leadership. */
  | { ok: false; current: VersionedGroup | undefined; leadershipLost: boolean };

export interface StateStore {
  readonly kind: 'file' | 'etcd';
  /** Every group, as committed. */
  load(): Promise<VersionedGroup[]>;
  /** Writes `group` if its stored revision is `expectedRevision` (undefined: no such group yet). */
  compareAndSet(group: ReplicaGroup, expectedRevision: string | undefined): Promise<CasResult>;
  close(): Promise<void>;
}

/** Which controller leads. The file store has one controller, always leading. */
export interface Leadership {
  /** Resolves once the first outcome is known (leading, or following someone). */
  start(listener: LeadershipListener): Promise<void>;
  isLeader(): boolean;
  /** The leader's endpoint, this controller's own while it leads; undefined while none is known. */
  leaderEndpoint(): string | undefined;
  close(): Promise<void>;
}

export interface LeadershipListener {
  onLeading(): void;
  onFollowing(leaderEndpoint: string | undefined): void;
}

export class SoleLeadership implements Leadership {
  constructor(private readonly endpoint: string) {}
  async start(listener: LeadershipListener): Promise<void> {
    listener.onLeading();
  }
  isLeader(): boolean {
    return true;
  }
  leaderEndpoint(): string {
    return this.endpoint;
  }
  async close(): Promise<void> {}
}
