// Which members of a broker group a route lists: the rule that names the master by epoch. Shared
// by the name server's registry and by brokers merging themselves into the name servers' view, so
// both answer QueryRoute the same way. Pure.
import type { BrokerIdentity, BrokerRole } from './broker-registration';

export interface GroupMember {
  identity: BrokerIdentity;
  role: BrokerRole;
  epoch: number;
  /** When this member first claimed its current role and epoch; the newer claim wins a tie. */
  claimedAtMs: number;
}

export interface RoutedMembers<M> {
  /** The highest epoch of the group: the largest of `epochSeen` and every member's. */
  epoch: number;
  /** The master of that epoch, when one is live. */
  master: M | undefined;
  /** Slaves of that epoch (they follow its master), by brokerId. */
  slaves: M[];
  /** Masters of that epoch that lost to `master` (the controller never issues one epoch twice). */
  conflicting: M[];
}

/**
 * Members of a lower epoch than the group's highest (`epochSeen` remembers epochs of members that
 * are gone) are stale and left out, whatever their broker id: a master of an old epoch must not
 * get writes, and a slave of one does not follow the current master.
 */
export function routedMembers<M extends GroupMember>(members: readonly M[], epochSeen = 0): RoutedMembers<M> {
  const epoch = members.reduce((highest, member) => Math.max(highest, member.epoch), epochSeen);
  const current = members.filter((member) => member.epoch === epoch);
  const masters = current
    .filter((member) => member.role === 'master')
    .sort((a, b) => b.claimedAtMs - a.claimedAtMs || a.identity.brokerId - b.identity.brokerId);
  const slaves = current.filter((member) => member.role === 'slave').sort((a, b) => a.identity.brokerId - b.identity.brokerId);
  return { epoch, master: masters[0], slaves, conflicting: masters.slice(1) };
}
