// What the broker does when the controller's role machine asks (--controller): record the epoch
// in the epoch file before serving as master, switch the role every writer checks, register with
// the name servers at once; and, through the log-shipping side (shipping/replica-role.ts), ship
// to slaves as master, or fetch the master's epochs, cut the log back and follow as a slave.
// As master, the in-sync set is the controller's: the master proposes changes through the link
// and adopts every committed set the controller answers (updateInSyncSet).
import { ControllerClient } from '@rmq/client';
import type { Logger } from '@rmq/observability';
import { REPLICATION_LIMITS, RoleMachine, type RoleAction, type RoleEvent } from '@rmq/replication';
import type { EpochFile, MessageStore } from '@rmq/store';
import { ControllerLink, type RoleActionExecutor } from './controller-link';
import type { ReplicaRole } from './shipping/replica-role';

/** Switches the broker state journal between recording (master) and following (slave). */
export interface JournalRole {
  toSlave(): void;
  toMaster(): Promise<void>;
}

/** The role every writer of the broker checks, and the epoch it writes in. */
export interface BrokerRoleState {
  role: 'master' | 'slave';
  epoch: number;
}

/** Deadline of one call to a controller. */
const CONTROLLER_CALL_TIMEOUT_MS = 2_000;

export class LocalRoleExecutor implements RoleActionExecutor {
  constructor(
    private readonly options: {
      store: MessageStore;
      epochs: EpochFile;
      /** Log shipping: the master side and the follow loop. */
      replica: ReplicaRole;
      state: BrokerRoleState;
      registerNow: () => Promise<unknown>;
      /** The broker's own state (topics, groups, progress): follows replication while a slave. */
      journalRole: JournalRole;
    },
  ) {}

  async run(action: RoleAction): Promise<RoleEvent | void> {
    const { state, epochs, store, replica } = this.options;
    switch (action.kind) {
      case 'refuseWrites':
        state.role = 'slave';
        replica.prepareSlave();
        this.options.journalRole.toSlave();
        return;
      case 'stopFollowing':
        await replica.stopFollowing();
        return;
      case 'beginEpoch': {
        const stats = store.stats();
        // Log written before any epoch was recorded (a broker from before the controller) counts as
        // epoch 0, so a slave can place it (the log-shipping side reads epochs the same way).
        if (!epochs.last() && stats.logEndOffset > stats.logMinOffset) await epochs.begin(0, stats.logMinOffset);
        const last = epochs.last();
        // The same epoch again (a restart before the first write of it): keep where it started.
        const startLogOffset = last?.epoch === action.epoch ? last.startLogOffset : stats.logEndOffset;
        await epochs.begin(action.epoch, startLogOffset);
        return { kind: 'epochWritten', epoch: action.epoch, startLogOffset };
      }
      case 'serveAsMaster':
        // Everything the old master recorded and this broker copied applies before its first write.
        // The store takes writes again (shipping starts), then the state copied so far applies
        // and the broker's own state is recorded; clients still see a slave until the role flips.
        replica.serveAsMaster(action.epoch, { inSyncBrokerIds: action.inSyncBrokerIds, inSyncSetVersion: action.inSyncSetVersion });
        await this.options.journalRole.toMaster();
        state.epoch = action.epoch;
        state.role = 'master';
        return;
      case 'registerWithNameServers':
        void this.options.registerNow();
        return;
      case 'updateInSyncSet':
        if (replica.master()?.epoch === action.epoch) replica.master()!.adoptConfirmed(action.inSyncBrokerIds, action.inSyncSetVersion);
        return;
      case 'fetchMasterEpochs': {
        const master = await replica.describeMaster(action.master.endpoint);
        return { kind: 'masterEpochs', epoch: action.epoch, masterEntries: master.entries, masterLogEndOffset: master.logEndOffset, localEntries: epochs.entries(), localLogEndOffset: store.writtenLogOffset };
      }
      case 'truncate':
        await replica.truncateTo(action.toLogOffset);
        return { kind: 'truncated', epoch: action.epoch, logOffset: store.writtenLogOffset };
      case 'follow':
        // The follow loop checks the logs again itself (the master may have moved on meanwhile).
        state.epoch = action.epoch;
        await replica.becomeSlave(action.master.endpoint);
        return;
    }
  }
}

/** Builds the link of a broker started with --controller; the caller starts and stops it. */
export async function openControllerLink(options: {
  controllers: string[];
  identity: { clusterName: string; brokerName: string; brokerId: number; endpoint: string };
  /** Log shipping; its epoch file is the one the executor writes. */
  replica: ReplicaRole;
  store: MessageStore;
  state: BrokerRoleState;
  registerNow: () => Promise<unknown>;
  journalRole: JournalRole;
  log: Logger;
  onFatal: (error: Error) => void;
}): Promise<ControllerLink> {
  const { store, identity, replica } = options;
  const epochs = replica.epochFile;
  const link: ControllerLink = new ControllerLink({
    client: new ControllerClient(options.controllers, { callTimeoutMs: CONTROLLER_CALL_TIMEOUT_MS }),
    identity,
    machine: new RoleMachine(identity.brokerId),
    executor: new LocalRoleExecutor({ store, epochs, replica, state: options.state, registerNow: options.registerNow, journalRole: options.journalRole }),
    report: () => {
      const stats = store.stats();
      const last = epochs.last();
      const status = replica.status();
      const slaves = status.role === 'master' ? status.slaves.map((slave) => ({ brokerId: Number(slave.replicaId), ackedLogOffset: slave.ackedLogOffset, behindMs: slave.lagBytes === 0 ? 0 : slave.lagMs })) : [];
      return { epoch: last?.epoch ?? 0, epochStartLogOffset: last?.startLogOffset ?? 0, logEndOffset: stats.logEndOffset, confirmedLogOffset: stats.confirmedLogOffset, slaves };
    },
    log: options.log,
    heartbeatIntervalMs: REPLICATION_LIMITS.heartbeatIntervalMsDefault, // until the controller says otherwise
    onFatal: options.onFatal,
  });
  replica.inSyncAuthority = {
    propose: async (proposal) => {
      const assignment = await link.alterInSyncSet(proposal);
      return { inSyncBrokerIds: assignment.inSyncBrokerIds, inSyncSetVersion: assignment.inSyncSetVersion };
    },
    refresh: () => void link.heartbeat(),
  };
  return link;
}
