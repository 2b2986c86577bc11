// Who is in a consumer group right now, as this broker hears it: members announce themselves
// with heartbeats and telemetry settings, leave with NotifyClientTermination or when their
// telemetry stream closes, and expire when they fall silent. No I/O, no timers: time comes in
// as `nowMs`.
import { assert } from '@rmq/base';
import { GROUP_COUNT_MAX, GROUP_MEMBER_COUNT_MAX, MEMBER_EXPIRY_MS } from './limits';

export type MemberKind = 'push' | 'simple';

interface Member {
  kind: MemberKind;
  lastSeenMs: number;
}

export class GroupMembership {
  private readonly groups = new Map<string, Map<string, Member>>();

  constructor(private readonly expiryMs = MEMBER_EXPIRY_MS) {
    assert(expiryMs > 0, 'member expiry must be positive', { expiryMs });
  }

  /** The member is alive now (a heartbeat or a settings command). */
  seen(group: string, clientId: string, kind: MemberKind, nowMs: number): void {
    let members = this.groups.get(group);
    if (!members) {
      if (this.groups.size >= GROUP_COUNT_MAX) this.expireAll(nowMs);
      if (this.groups.size >= GROUP_COUNT_MAX) return; // as many live groups as we track: not tracked
      this.groups.set(group, (members = new Map()));
    }
    if (!members.has(clientId) && members.size >= GROUP_MEMBER_COUNT_MAX) this.expire(members, nowMs);
    if (!members.has(clientId) && members.size >= GROUP_MEMBER_COUNT_MAX) return; // full of live members: not tracked
    members.set(clientId, { kind, lastSeenMs: nowMs });
  }

  /** The client left (shut down, or its telemetry stream closed): in every group it was in. */
  left(clientId: string): void {
    for (const [group, members] of this.groups) {
      members.delete(clientId);
      if (members.size === 0) this.groups.delete(group);
    }
  }

  /** Live members of `group` (of `kind`, if given), sorted. */
  members(group: string, nowMs: number, kind?: MemberKind): string[] {
    const members = this.groups.get(group);
    if (!members) return [];
    this.expire(members, nowMs);
    return [...members].filter(([, member]) => !kind || member.kind === kind).map(([clientId]) => clientId).sort();
  }

  kindOf(group: string, clientId: string): MemberKind | undefined {
    return this.groups.get(group)?.get(clientId)?.kind;
  }

  private expireAll(nowMs: number): void {
    for (const [group, members] of this.groups) {
      this.expire(members, nowMs);
      if (members.size === 0) this.groups.delete(group);
    }
  }

  private expire(members: Map<string, Member>, nowMs: number): void {
    for (const [clientId, member] of members) if (nowMs - member.lastSeenMs > this.expiryMs) members.delete(clientId);
  }
}
