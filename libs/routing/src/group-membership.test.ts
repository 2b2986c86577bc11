import { GroupMembership } from './group-membership';
import { GROUP_COUNT_MAX } from './limits';

describe('GroupMembership', () => {
  it('lists the live members of a group, sorted, and forgets one that falls silent past the expiry', () => {
    const membership = new GroupMembership(30_000);
    membership.seen('G', 'client-b', 'push', 1_000);
    membership.seen('G', 'client-a', 'push', 2_000);
    membership.seen('Other', 'client-c', 'simple', 2_000);
    expect(membership.members('G', 2_000)).toEqual(['client-a', 'client-b']);
    expect(membership.members('G', 31_000)).toEqual(['client-a', 'client-b']);
    expect(membership.members('G', 31_001)).toEqual(['client-a']);
    membership.seen('G', 'client-a', 'push', 40_000); // a heartbeat renews
    expect(membership.members('G', 69_000)).toEqual(['client-a']);
  });

  it('removes a member that left from every group at once', () => {
    const membership = new GroupMembership();
    membership.seen('G1', 'x', 'push', 0);
    membership.seen('G2', 'x', 'push', 0);
    membership.seen('G1', 'y', 'push', 0);
    membership.left('x');
    expect(membership.members('G1', 1)).toEqual(['y']);
    expect(membership.members('G2', 1)).toEqual([]);
  });

  it('tracks at most GROUP_COUNT_MAX groups, making room by expiring silent ones', () => {
    const membership = new GroupMembership(30_000);
    for (let i = 0; i < GROUP_COUNT_MAX; i++) membership.seen(`G${i}`, 'c', 'push', 0);
    membership.seen('OneTooMany', 'c', 'push', 1_000);
    expect(membership.members('OneTooMany', 1_000)).toEqual([]);
    membership.seen('OneTooMany', 'c', 'push', 40_000); // the others fell silent meanwhile
    expect(membership.members('OneTooMany', 40_000)).toEqual(['c']);
  });

  it('filters by member kind and tells the kind of a member', () => {
    const membership = new GroupMembership();
    membership.seen('G', 'push-1', 'push', 0);
    membership.seen('G', 'simple-1', 'simple', 0);
    expect(membership.members('G', 1, 'push')).toEqual(['push-1']);
    expect(membership.kindOf('G', 'simple-1')).toBe('simple');
    expect(membership.kindOf('G', 'nobody')).toBeUndefined();
  });
});
