// Where a slave's log meets its master's (pure): follow from its end, cut it back first, or
// start over at the master's oldest segment. The slave decides with the master's epochs
// (DescribeLog); the master checks a Subscribe with the same rule, so a diverged log is never fed.
// Pure: moves to libs/replication beside the role machine once that exists.
import { truncationPoint, type EpochEntry } from '@rmq/store';

export interface LogView {
  epochs: readonly EpochEntry[];
  minLogOffset: number;
  endLogOffset: number;
}

export type FollowPlan =
  /** The logs agree up to the replica's end: ship from there. */
  | { kind: 'follow'; fromLogOffset: number }
  /** The replica wrote in epochs the master never had: cut back to where they agree, then follow. */
  | { kind: 'truncate'; toLogOffset: number }
  /** Nothing usable in common (an empty replica, or one behind the master's oldest segment): start at the master's first byte. */
  | { kind: 'restart'; atLogOffset: number };

export function planFollow(replica: LogView, master: LogView): FollowPlan {
  const empty = replica.endLogOffset === replica.minLogOffset;
  const shared = truncationPoint(replica.epochs, master.epochs, master.endLogOffset, replica.endLogOffset);
  if ((empty && replica.endLogOffset !== master.minLogOffset) || shared < master.minLogOffset || shared < replica.minLogOffset) {
    return { kind: 'restart', atLogOffset: master.minLogOffset };
  }
  if (shared < replica.endLogOffset) return { kind: 'truncate', toLogOffset: shared };
  return { kind: 'follow', fromLogOffset: replica.endLogOffset };
}

/** The master's check of a Subscribe: undefined when shipping from `fromLogOffset` is sound, else why not. */
export function subscribeProblem(fromLogOffset: number, replicaEpochs: readonly EpochEntry[], master: LogView): string | undefined {
  if (fromLogOffset < master.minLogOffset) return `log offset ${fromLogOffset} is below the master's oldest segment (${master.minLogOffset}); start over there`;
  if (fromLogOffset > master.endLogOffset) return `log offset ${fromLogOffset} is beyond the master's log end (${master.endLogOffset}); the replica's log diverged`;
  const shared = truncationPoint(replicaEpochs, master.epochs, master.endLogOffset, fromLogOffset);
  if (shared < fromLogOffset) return `the replica's log diverges from the master's at log offset ${shared} (epochs differ); cut it back there`;
  return undefined;
}
