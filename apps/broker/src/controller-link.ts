// The broker's link to the replication controllers: it heartbeats the leading controller (any
// address of --controller; redirects followed) with what the broker is and has, hands every
// assignment to the role machine, and runs the actions the machine returns through the executor,
// one at a time and in order, feeding each result back. A failure of a step of becoming a slave
// (master unreachable, say) is fed back as `stepFailed`, so the next assignment tries again; a
// failure of anything else (writing the epoch, fencing writes) cannot be retried safely and is
// fatal: the process stops and comes back as a slave.
import { randomUUID } from 'node:crypto';
import { RmqError } from '@rmq/base';
import type { ControllerClient } from '@rmq/client';
import { controller } from '@rmq/contracts';
import type { Logger } from '@rmq/observability';
import type { Assignment, RoleAction, RoleEvent, RoleMachine, SlaveProgress } from '@rmq/replication';

/** What the broker reports about itself in each heartbeat, read fresh every time. */
export interface LocalReport {
  /** The newest epoch in the epoch file (0 if none) and where it starts. */
  epoch: number;
  epochStartLogOffset: number;
  logEndOffset: number;
  confirmedLogOffset: number;
  /** A master's view of its slaves (empty on a slave). */
  slaves: readonly SlaveProgress[];
}

/**
 * Carries out the role machine's actions. Returns the result event for `beginEpoch`
 * (`epochWritten`), `fetchMasterEpochs` (`masterEpochs`) and `truncate` (`truncated`);
 * nothing for the others.
 */
export interface RoleActionExecutor {
  run(action: RoleAction): Promise<RoleEvent | void>;
}

export interface ControllerLinkOptions {
  client: Pick<ControllerClient, 'call' | 'leader'>;
  identity: { clusterName: string; brokerName: string; brokerId: number; endpoint: string };
  machine: RoleMachine;
  executor: RoleActionExecutor;
  report: () => LocalReport;
  log: Logger;
  /** Until the controller says otherwise. */
  heartbeatIntervalMs: number;
  onFatal: (error: Error) => void;
}

/** The broker's role as routes, registrations and forwarding need it (the failover side's RoleView). */
export interface LinkRoleView {
  role: 'master' | 'slave';
  /** The epoch this broker is master of, or the epoch of the master it follows (or waits for). */
  epoch: number;
  /** Client endpoint of the group's master: this broker's own when it is master; undefined while none is known. */
  masterEndpoint: string | undefined;
}

const RETRYABLE_ACTIONS = new Set<RoleAction['kind']>(['fetchMasterEpochs', 'truncate', 'follow']);

export class ControllerLink {
  /** Random per process start: tells the controller this broker restarted. */
  readonly incarnation = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private intervalMs: number;
  private beating = false;
  private actions: Promise<void> = Promise.resolve();
  private lastAssignment: Assignment | undefined;
  private lastContactMs: number | undefined;
  private stopped = false;
  private unreachableLogged = false;
  private readonly listeners = new Set<(view: LinkRoleView) => void>();
  private lastView: LinkRoleView = { role: 'slave', epoch: 0, masterEndpoint: undefined };
  /** The epoch whose serveAsMaster action has completed: only then do clients see a master. */
  private servingEpoch: number | undefined;

  constructor(private readonly options: ControllerLinkOptions) {
    this.intervalMs = options.heartbeatIntervalMs;
  }

  start(): void {
    void this.heartbeat();
    this.schedule();
  }

  /** Stops heartbeating and waits for the running action to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.actions;
  }

  /**
   * Role, epoch and master as the role machine has them now; a master only once it serves (its
   * state copied so far applied, its journal writable): until then calls are held, not served.
   */
  current(): LinkRoleView {
    const phase = this.options.machine.phase();
    if (phase.kind === 'master' && this.servingEpoch === phase.epoch) return { role: 'master', epoch: phase.epoch, masterEndpoint: this.options.identity.endpoint };
    if (phase.kind === 'master') return { role: 'slave', epoch: phase.epoch, masterEndpoint: undefined };
    if (phase.kind === 'standby' || phase.kind === 'becomingMaster') return { role: 'slave', epoch: phase.epoch, masterEndpoint: undefined };
    return { role: 'slave', epoch: phase.epoch, masterEndpoint: phase.master.endpoint };
  }

  /** Calls `listener` after every change of `current()`; returns the function that stops it. */
  onChange(listener: (view: LinkRoleView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A call to the master failed: ask the controller now rather than at the next beat. */
  masterUnreachable(): void {
    void this.heartbeat();
  }

  status(): { leader: string | undefined; assignment: Assignment | undefined; lastContactMs: number | undefined } {
    return { leader: this.options.client.leader(), assignment: this.lastAssignment, lastContactMs: this.lastContactMs };
  }

  /** One heartbeat now (also called on a timer); the assignment goes to the role machine. */
  async heartbeat(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    try {
      const local = this.options.report();
      const { identity, machine } = this.options;
      const reply = await this.options.client.call((client, callOptions) =>
        client.brokerHeartbeat({
          clusterName: identity.clusterName,
          brokerName: identity.brokerName,
          brokerId: BigInt(identity.brokerId),
          endpoint: identity.endpoint,
          incarnation: this.incarnation,
          role: machine.role() === 'master' ? controller.ReplicaRole.MASTER : controller.ReplicaRole.SLAVE,
          epoch: BigInt(local.epoch),
          epochStartLogOffset: BigInt(local.epochStartLogOffset),
          logEndOffset: BigInt(local.logEndOffset),
          confirmedLogOffset: BigInt(local.confirmedLogOffset),
          slaves: machine.role() === 'master' ? local.slaves.map(progressToWire) : [],
        }, callOptions),
      );
      this.lastContactMs = Date.now();
      this.unreachableLogged = false;
      const interval = Number(reply.heartbeatIntervalMs);
      if (interval > 0) this.intervalMs = interval;
      if (reply.assignment) this.accept(assignmentOf(reply.assignment));
    } catch (error) {
      // Logged once per outage: the broker keeps its role meanwhile (a master stays master; the
      // controller, not this broker, decides when it is dead).
      if (!this.unreachableLogged) this.options.log.warn('no controller answered the heartbeat; keeping the current role', { error: String(error) });
      this.unreachableLogged = true;
    } finally {
      this.beating = false;
    }
  }

  /** A master asks the controller for a new in-sync set; the answer goes to the role machine too. */
  async alterInSyncSet(change: { epoch: number; inSyncSetVersion: number; inSyncBrokerIds: readonly number[]; confirmedLogOffset: number; logEndOffset: number; slaves: readonly SlaveProgress[] }): Promise<Assignment> {
    const { identity } = this.options;
    const reply = await this.options.client.call((client, callOptions) =>
      client.alterInSyncSet({
        clusterName: identity.clusterName,
        brokerName: identity.brokerName,
        masterBrokerId: BigInt(identity.brokerId),
        epoch: BigInt(change.epoch),
        inSyncSetVersion: BigInt(change.inSyncSetVersion),
        inSyncBrokerIds: change.inSyncBrokerIds.map(BigInt),
        slaves: change.slaves.map(progressToWire),
        confirmedLogOffset: BigInt(change.confirmedLogOffset),
        logEndOffset: BigInt(change.logEndOffset),
      }, callOptions),
    );
    if (!reply.assignment) throw new RmqError('INTERNAL', { errorId: 'controller answered AlterInSyncSet without an assignment' });
    const assignment = assignmentOf(reply.assignment);
    this.accept(assignment);
    return assignment;
  }

  private accept(assignment: Assignment): void {
    this.lastAssignment = assignment;
    this.feed({ kind: 'assignment', assignment });
  }

  /** Feeds an event to the machine and queues its actions behind the ones still running. */
  private feed(event: RoleEvent): void {
    const actions = this.options.machine.handle(event);
    this.notifyIfChanged();
    if (actions.length === 0) return;
    this.actions = this.actions.then(() => this.runAll(actions));
  }

  private async runAll(actions: RoleAction[]): Promise<void> {
    for (const action of actions) {
      if (this.stopped) return;
      let result: RoleEvent | void;
      try {
        result = await this.options.executor.run(action);
      } catch (error) {
        if (!RETRYABLE_ACTIONS.has(action.kind)) {
          this.options.onFatal(new Error(`could not ${action.kind} (${JSON.stringify(action)}): ${error instanceof Error ? error.message : String(error)}`));
          return;
        }
        this.options.log.warn('a step of following the master failed; retrying with the next assignment', { action: action.kind, error: String(error) });
        if ('epoch' in action) this.feed({ kind: 'stepFailed', epoch: action.epoch, reason: String(error) });
        return;
      }
      this.options.log.info('role action done', { action: action.kind, ...('epoch' in action ? { epoch: action.epoch } : {}) });
      if (action.kind === 'serveAsMaster') {
        this.servingEpoch = action.epoch;
        this.notifyIfChanged();
      }
      if (result) this.feed(result);
    }
  }

  private notifyIfChanged(): void {
    const view = this.current();
    const last = this.lastView;
    if (view.role === last.role && view.epoch === last.epoch && view.masterEndpoint === last.masterEndpoint) return;
    this.lastView = view;
    for (const listener of this.listeners) listener(view);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.heartbeat().finally(() => this.schedule());
    }, this.intervalMs);
  }
}

function progressToWire(progress: SlaveProgress) {
  return { brokerId: BigInt(progress.brokerId), ackedLogOffset: BigInt(progress.ackedLogOffset), behindMs: BigInt(progress.behindMs) };
}

function assignmentOf(wire: controller.Assignment): Assignment {
  return {
    clusterName: wire.clusterName,
    brokerName: wire.brokerName,
    role: wire.role === controller.ReplicaRole.MASTER ? 'master' : 'slave',
    epoch: Number(wire.epoch),
    masterBrokerId: Number(wire.masterBrokerId),
    masterEndpoint: wire.masterEndpoint,
    masterAlive: wire.masterAlive,
    inSyncBrokerIds: wire.inSyncBrokerIds.map(Number),
    inSyncSetVersion: Number(wire.inSyncSetVersion),
    ...(wire.epochStartLogOffset === undefined ? {} : { epochStartLogOffset: Number(wire.epochStartLogOffset) }),
  };
}
