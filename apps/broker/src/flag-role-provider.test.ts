// A manual failover (AdminService.SetBrokerRole) runs the controller's steps in the controller's
// order: a promoted slave stops following before it writes its epoch and serves.
import { createLogger } from '@rmq/observability';
import type { RoleAction } from '@rmq/replication';
import { FlagRoleProvider } from './flag-role-provider';

const quiet = createLogger({}, { write: () => undefined });

function provider(role: 'master' | 'slave', actions: RoleAction['kind'][]): FlagRoleProvider {
  return new FlagRoleProvider({
    role, epoch: 1, endpoint: '127.0.0.1:1', clusterName: 'c', brokerName: 'b', brokerId: 1,
    masterAddress: '127.0.0.1:2', nameServers: [], log: quiet,
    executor: {
      async run(action) {
        actions.push(action.kind);
        return action.kind === 'beginEpoch' ? { kind: 'epochWritten', epoch: action.epoch, startLogOffset: 0 } : undefined;
      },
    },
  });
}

describe('FlagRoleProvider', () => {
  it('promotes a slave: stop following, write the epoch, serve; then it is master of that epoch', async () => {
    const actions: RoleAction['kind'][] = [];
    const slave = provider('slave', actions);
    expect(await slave.assign('master', 2)).toEqual({ role: 'master', epoch: 2, masterEndpoint: '127.0.0.1:1' });
    expect(actions).toEqual(['stopFollowing', 'beginEpoch', 'serveAsMaster']);
    slave.close();
  });

  it('refuses a promotion that does not raise the epoch, and runs nothing', async () => {
    const actions: RoleAction['kind'][] = [];
    const slave = provider('slave', actions);
    await expect(slave.assign('master', 1)).rejects.toThrow('a new master needs an epoch above the current 1, got 1');
    expect(actions).toEqual([]);
    slave.close();
  });
});
