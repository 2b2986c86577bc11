import { resourceProblem, unmetNeed, userNameProblem, type AccessUser } from './access-control';

describe('access control', () => {
  const alice: AccessUser = {
    name: 'alice',
    secret: 's',
    admin: false,
    grants: [
      { resource: 'topic:Orders', actions: ['pub'] },
      { resource: 'topic:Audit*', actions: ['sub'] },
      { resource: 'group:billing', actions: ['sub'] },
    ],
  };

  it('allows what a grant names, by exact name or prefix, and nothing else', () => {
    expect(unmetNeed(alice, [{ type: 'topic', name: 'Orders', actions: ['pub'] }])).toBeUndefined();
    expect(unmetNeed(alice, [{ type: 'topic', name: 'Orders', actions: ['sub'] }])).toMatchObject({ name: 'Orders' });
    expect(unmetNeed(alice, [{ type: 'topic', name: 'OrdersX', actions: ['pub'] }])).toBeDefined();
    expect(unmetNeed(alice, [{ type: 'topic', name: 'AuditLog', actions: ['sub'] }, { type: 'group', name: 'billing', actions: ['sub'] }])).toBeUndefined();
    expect(unmetNeed(alice, [{ type: 'topic', name: 'AuditLog', actions: ['sub'] }, { type: 'group', name: 'other', actions: ['sub'] }])).toMatchObject({ type: 'group' });
    expect(unmetNeed(alice, [{ type: 'topic', name: 'Orders', actions: ['pub', 'sub'] }])).toBeUndefined();
    expect(unmetNeed(alice, [{ type: 'cluster', name: '', actions: ['admin'] }])).toBeDefined();
  });

  it('lets an admin do everything and a grant on the cluster cover cluster calls only', () => {
    expect(unmetNeed({ ...alice, admin: true }, [{ type: 'cluster', name: '', actions: ['admin'] }])).toBeUndefined();
    const operator: AccessUser = { ...alice, grants: [{ resource: 'cluster', actions: ['admin'] }] };
    expect(unmetNeed(operator, [{ type: 'cluster', name: '', actions: ['admin'] }])).toBeUndefined();
    expect(unmetNeed(operator, [{ type: 'topic', name: 'Orders', actions: ['admin'] }])).toBeDefined();
  });

  it('checks resource and user names', () => {
    expect(resourceProblem('topic:Orders')).toBeUndefined();
    expect(resourceProblem('group:*')).toBeUndefined();
    expect(resourceProblem('cluster')).toBeUndefined();
    expect(resourceProblem('queue:x')).toMatch(/topic:<name>/);
    expect(resourceProblem('topic:a b')).toMatch(/not a topic/);
    expect(userNameProblem('alice')).toBeUndefined();
    expect(userNameProblem('a lice')).toBeDefined();
  });
});
