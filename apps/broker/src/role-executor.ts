// What the broker does today when the controller's role machine asks (--controller): record the
// epoch in the epoch file before serving as master, switch the role every writer checks, and
// register with the name servers at once. Following a master (fetching its epochs, truncating,
// copying its log) is the log-shipping side, not in this build: those steps fail with
// UNSUPPORTED, so such a broker stays a slave that refuses writes.
import { join } from 'node:path';
import { RmqError } from '@rmq/base';
import { ControllerClient } from '@rmq/client';
import type { Logger } from '@rmq/observability';
import { REPLICATION_LIMITS, RoleMachine, type RoleAction, type RoleEvent } from '@rmq/replication';
import { EpochFile, type MessageStore } from '@rmq/store';
import { ControllerLink, type RoleActionExecutor } from './controller-link';

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
      state: BrokerRoleState;
      registerNow: () => Promise<unknown>;
      /** The broker's own state (topics, groups, progress): follows replication while a slave. */
      journalRole: JournalRole;
    },
  ) {}

  async run(action: RoleAction): Promise<RoleEvent | void> {
    const { state, epochs, store } = this.options;
    switch (action.kind) {
      case 'refuseWrites':
        state.role = 'slave';
        this.options.journalRole.toSlave();
        return;
      case 'stopFollowing':
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
        await this.options.journalRole.toMaster();
        state.epoch = action.epoch;
        state.role = 'master';
        return;
      case 'registerWithNameServers':
        void this.options.registerNow();
        return;
      case 'updateInSyncSet':
        return;
      case 'fetchMasterEpochs':
      case 'truncate':
      case 'follow':
        throw new RmqError('UNSUPPORTED', { feature: 'following a master (log shipping)' });
    }
  }
}

/** Builds the link of a broker started with --controller; the caller starts and stops it. */
export async function openControllerLink(options: {
  controllers: string[];
  identity: { clusterName: string; brokerName: string; brokerId: number; endpoint: string };
  storeDir: string;
  store: MessageStore;
  state: BrokerRoleState;
  registerNow: () => Promise<unknown>;
  journalRole: JournalRole;
  log: Logger;
  onFatal: (error: Error) => void;
}): Promise<ControllerLink> {
  const epochs = await EpochFile.open(join(options.storeDir, 'epochs.json'));
  const { store, identity } = options;
  return new ControllerLink({
    client: new ControllerClient(options.controllers, { callTimeoutMs: CONTROLLER_CALL_TIMEOUT_MS }),
    identity,
    machine: new RoleMachine(identity.brokerId),
    executor: new LocalRoleExecutor({ store, epochs, state: options.state, registerNow: options.registerNow, journalRole: options.journalRole }),
    report: () => {
      const stats = store.stats();
      const last = epochs.last();
      return { epoch: last?.epoch ?? 0, epochStartLogOffset: last?.startLogOffset ?? 0, logEndOffset: stats.logEndOffset, confirmedLogOffset: stats.confirmedLogOffset, slaves: [] };
    },
    log: options.log,
    heartbeatIntervalMs: REPLICATION_LIMITS.heartbeatIntervalMsDefault, // until the controller says otherwise
    onFatal: options.onFatal,
  });
}
