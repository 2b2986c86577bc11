import type { MessageInitShape } from '@bufbuild/protobuf';
import { controller, create } from '@rmq/contracts';
import { createLogger } from '@rmq/observability';
import { RoleMachine, type RoleAction, type RoleEvent } from '@rmq/replication';
import { eventually } from '@rmq/testing';
import { ControllerLink, type ControllerLinkOptions, type LinkRoleView } from './controller-link';

type Assign = Exclude<MessageInitShape<typeof controller.AssignmentSchema>, { $typeName: string }>;

/** A controller that answers every heartbeat with the assignment the test sets (or fails). */
function fakeController() {
  const state: { assignment: Assign | undefined; fail: boolean; requests: controller.BrokerHeartbeatRequest[] } = { assignment: undefined, fail: false, requests: [] };
  const service = {
    alterInSyncSet: async (request: controller.AlterInSyncSetRequest) =>
      create(controller.AlterInSyncSetResponseSchema, {
        assignment: { ...state.assignment, inSyncBrokerIds: request.inSyncBrokerIds, inSyncSetVersion: request.inSyncSetVersion + 1n },
      }),
    brokerHeartbeat: async (request: controller.BrokerHeartbeatRequest) => {
      state.requests.push(request);
      if (state.fail) throw new Error('unreachable');
      return create(controller.BrokerHeartbeatResponseSchema, { assignment: state.assignment, heartbeatIntervalMs: 60_000n });
    },
  };
  const client: ControllerLinkOptions['client'] = {
    call: (fn) => fn(service as never, {}),
    leader: () => 'controller:1',
  };
  return { state, client };
}

function setUp(run: (action: RoleAction) => Promise<RoleEvent | void>) {
  const { state, client } = fakeController();
  const done: RoleAction[] = [];
  const fatal: Error[] = [];
  const link = new ControllerLink({
    client,
    identity: { clusterName: 'c1', brokerName: 'g', brokerId: 1, endpoint: 'me:1' },
    machine: new RoleMachine(1),
    executor: { run: async (action) => { const result = await run(action); done.push(action); return result; } },
    report: () => ({ epoch: 0, epochStartLogOffset: 0, logEndOffset: 10, confirmedLogOffset: 10, slaves: [] }),
    log: createLogger({}, { write: () => undefined }),
    heartbeatIntervalMs: 60_000,
    onFatal: (error) => fatal.push(error),
  });
  const views: LinkRoleView[] = [];
  link.onChange((view) => views.push(view));
  return { state, link, done, fatal, views };
}

const master: Assign = { clusterName: 'c1', brokerName: 'g', role: controller.ReplicaRole.MASTER, epoch: 3n, masterBrokerId: 1n, masterEndpoint: 'me:1', masterAlive: true, inSyncBrokerIds: [1n], inSyncSetVersion: 1n };
const slave: Assign = { ...master, role: controller.ReplicaRole.SLAVE, epoch: 4n, masterBrokerId: 2n, masterEndpoint: 'other:2', inSyncBrokerIds: [2n] };

describe('ControllerLink', () => {
  it('reports as a slave at first, then runs a master assignment in order and says so', async () => {
    const { state, link, done, views } = setUp(async (action) => (action.kind === 'beginEpoch' ? { kind: 'epochWritten', epoch: action.epoch, startLogOffset: 10 } : undefined));
    state.assignment = master;
    await link.heartbeat();
    expect(state.requests[0]).toMatchObject({ role: controller.ReplicaRole.SLAVE, brokerId: 1n, logEndOffset: 10n, incarnation: link.incarnation });
    await eventually(() => expect(done.map((a) => a.kind)).toEqual(['beginEpoch', 'serveAsMaster', 'registerWithNameServers']));
    expect(link.current()).toEqual({ role: 'master', epoch: 3, masterEndpoint: 'me:1' });
    expect(views.at(-1)).toEqual({ role: 'master', epoch: 3, masterEndpoint: 'me:1' });
    await link.heartbeat();
    expect(state.requests[1].role).toBe(controller.ReplicaRole.MASTER);
    await link.stop();
  });

  it('says master only once serveAsMaster has completed: until then calls are held, not served', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { state, link, views } = setUp(async (action) => {
      if (action.kind === 'beginEpoch') return { kind: 'epochWritten', epoch: action.epoch, startLogOffset: 10 };
      if (action.kind === 'serveAsMaster') await gate;
    });
    state.assignment = master;
    await link.heartbeat();
    await eventually(() => expect(link.current()).toEqual({ role: 'slave', epoch: 3, masterEndpoint: undefined }));
    expect(views.some((view) => view.role === 'master')).toBe(false);
    open();
    await eventually(() => expect(link.current()).toEqual({ role: 'master', epoch: 3, masterEndpoint: 'me:1' }));
    expect(views.at(-1)).toEqual({ role: 'master', epoch: 3, masterEndpoint: 'me:1' });
    await link.stop();
  });

  it('feeds a failed step of following back, and tries again with the next assignment', async () => {
    let fetches = 0;
    const { state, link, fatal } = setUp(async (action) => {
      if (action.kind === 'fetchMasterEpochs') {
        fetches++;
        throw new Error('master unreachable');
      }
    });
    state.assignment = slave;
    await link.heartbeat();
    await eventually(() => expect(fetches).toBe(1));
    await eventually(() => expect(link.current()).toEqual({ role: 'slave', epoch: 4, masterEndpoint: undefined }));
    await link.heartbeat();
    await eventually(() => expect(fetches).toBe(2));
    expect(fatal).toEqual([]);
    await link.stop();
  });

  it('stops the process when writing the epoch fails, rather than serve without it', async () => {
    const { state, link, fatal } = setUp(async (action) => {
      if (action.kind === 'beginEpoch') throw new Error('disk gone');
    });
    state.assignment = master;
    await link.heartbeat();
    await eventually(() => expect(fatal.map((e) => e.message)).toEqual([expect.stringContaining('could not beginEpoch')]));
    expect(link.current().role).toBe('slave');
    await link.stop();
  });

  it('keeps its role while no controller answers', async () => {
    const { state, link } = setUp(async (action) => (action.kind === 'beginEpoch' ? { kind: 'epochWritten', epoch: action.epoch, startLogOffset: 0 } : undefined));
    state.assignment = master;
    await link.heartbeat();
    await eventually(() => expect(link.current().role).toBe('master'));
    state.fail = true;
    await link.heartbeat();
    expect(link.current()).toEqual({ role: 'master', epoch: 3, masterEndpoint: 'me:1' });
    await link.stop();
  });

  it('hands the in-sync set the controller committed to the role machine', async () => {
    const { state, link, done } = setUp(async (action) => (action.kind === 'beginEpoch' ? { kind: 'epochWritten', epoch: action.epoch, startLogOffset: 0 } : undefined));
    state.assignment = master;
    await link.heartbeat();
    await eventually(() => expect(link.current().role).toBe('master'));
    const committed = await link.alterInSyncSet({
      epoch: 3, inSyncSetVersion: 1, inSyncBrokerIds: [1, 2], confirmedLogOffset: 10, logEndOffset: 10, slaves: [{ brokerId: 2, ackedLogOffset: 10, behindMs: 0 }],
    });
    expect(committed).toMatchObject({ inSyncBrokerIds: [1, 2], inSyncSetVersion: 2 });
    await eventually(() => expect(done.at(-1)).toEqual({ kind: 'updateInSyncSet', epoch: 3, inSyncBrokerIds: [1, 2], inSyncSetVersion: 2 }));
    await link.stop();
  });
});
