// controller.ControllerService as a handler table: checks each request, converts wire types
// (int64 as bigint, enums) to the plain values of @rmq/replication and back, and times every call
// for the metrics. No decisions here.
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { RmqError } from '@rmq/base';
import { parseHostPort } from '@rmq/config';
import { controller, reply, type UnaryImplementation } from '@rmq/contracts';
import { REPLICATION_LIMITS, type Assignment, type BrokerReport, type ReplicaRole, type SlaveProgress } from '@rmq/replication';
import type { RequestObserver } from './controller-metrics';
import type { GroupView, ReplicaController } from './replica-controller';
import type { Leadership, StateStore } from './state-store';

type Service = typeof controller.ControllerService extends GenService<infer S> ? S : never;

export interface ControllerServiceContext {
  replicaController: ReplicaController;
  leadership: Leadership;
  store: StateStore;
  controllerId: string;
  endpoint: string;
  heartbeatIntervalMs: number;
  brokerTimeoutMs: number;
  observeRequest: RequestObserver;
}

export function controllerService(context: ControllerServiceContext): UnaryImplementation<Service> {
  const { replicaController, observeRequest } = context;
  return {
    brokerHeartbeat: (request) =>
      observeRequest('broker_heartbeat', async () => {
        const assignment = await replicaController.heartbeat(reportOf(request));
        return reply(controller.BrokerHeartbeatResponseSchema, {
          assignment: assignmentToWire(assignment),
          heartbeatIntervalMs: BigInt(context.heartbeatIntervalMs),
          brokerTimeoutMs: BigInt(context.brokerTimeoutMs),
        });
      }),

    alterInSyncSet: (request) =>
      observeRequest('alter_in_sync_set', async () => {
        const brokerName = requiredName(request.brokerName, 'broker_name');
        requiredName(request.clusterName, 'cluster_name');
        const assignment = await replicaController.alterInSyncSet(brokerName, {
          masterBrokerId: brokerIdOf(request.masterBrokerId, 'master_broker_id'),
          epoch: offsetOf(request.epoch, 'epoch'),
          inSyncSetVersion: offsetOf(request.inSyncSetVersion, 'in_sync_set_version'),
          inSyncBrokerIds: idList(request.inSyncBrokerIds, 'in_sync_broker_ids'),
          slaves: request.slaves.map(progressOf),
          confirmedLogOffset: offsetOf(request.confirmedLogOffset, 'confirmed_log_offset'),
        });
        return reply(controller.AlterInSyncSetResponseSchema, { assignment: assignmentToWire(assignment) });
      }),

    getReplicaGroup: (request) =>
      observeRequest('get_replica_group', async () => {
        const view = await replicaController.view(requiredName(request.brokerName, 'broker_name'));
        return reply(controller.GetReplicaGroupResponseSchema, { group: groupToWire(view) });
      }),

    listReplicaGroups: () =>
      observeRequest('list_replica_groups', async () => {
        const views = await replicaController.views();
        return reply(controller.ListReplicaGroupsResponseSchema, { groups: views.map(groupToWire), leaderId: context.controllerId });
      }),

    getControllerStatus: () =>
      observeRequest('get_controller_status', async () =>
        reply(controller.GetControllerStatusResponseSchema, {
          controllerId: context.controllerId,
          endpoint: context.endpoint,
          leader: replicaController.isLeader(),
          leaderEndpoint: context.leadership.leaderEndpoint() ?? '',
          store: context.store.kind,
          inGracePeriod: replicaController.inGracePeriod(),
        }),
      ),
  };
}

function reportOf(request: controller.BrokerHeartbeatRequest): BrokerReport {
  const role = roleOf(request.role);
  const slaves = request.slaves.map(progressOf);
  if (role === 'slave' && slaves.length > 0) throw new RmqError('BAD_REQUEST', { reason: 'only a master reports slaves' });
  if (slaves.length > REPLICATION_LIMITS.brokersPerGroupMax) {
    throw new RmqError('BAD_REQUEST', { reason: `slaves lists ${slaves.length} brokers; a group has at most ${REPLICATION_LIMITS.brokersPerGroupMax}` });
  }
  return {
    clusterName: requiredName(request.clusterName, 'cluster_name'),
    brokerName: requiredName(request.brokerName, 'broker_name'),
    brokerId: brokerIdOf(request.brokerId, 'broker_id'),
    endpoint: endpointOf(request.endpoint),
    incarnation: requiredName(request.incarnation, 'incarnation'),
    role,
    epoch: offsetOf(request.epoch, 'epoch'),
    epochStartLogOffset: offsetOf(request.epochStartLogOffset, 'epoch_start_log_offset'),
    logEndOffset: offsetOf(request.logEndOffset, 'log_end_offset'),
    confirmedLogOffset: offsetOf(request.confirmedLogOffset, 'confirmed_log_offset'),
    slaves,
  };
}

function roleOf(role: controller.ReplicaRole): ReplicaRole {
  if (role === controller.ReplicaRole.MASTER) return 'master';
  if (role === controller.ReplicaRole.SLAVE) return 'slave';
  throw new RmqError('BAD_REQUEST', { reason: 'role must be REPLICA_ROLE_MASTER or REPLICA_ROLE_SLAVE' });
}

function roleToWire(role: ReplicaRole): controller.ReplicaRole {
  return role === 'master' ? controller.ReplicaRole.MASTER : controller.ReplicaRole.SLAVE;
}

function progressOf(progress: controller.SlaveProgress): SlaveProgress {
  return {
    brokerId: brokerIdOf(progress.brokerId, 'slaves.broker_id'),
    ackedLogOffset: offsetOf(progress.ackedLogOffset, 'slaves.acked_log_offset'),
    behindMs: offsetOf(progress.behindMs, 'slaves.behind_ms'),
  };
}

export function assignmentToWire(assignment: Assignment) {
  return {
    clusterName: assignment.clusterName,
    brokerName: assignment.brokerName,
    role: roleToWire(assignment.role),
    epoch: BigInt(assignment.epoch),
    masterBrokerId: BigInt(assignment.masterBrokerId),
    masterEndpoint: assignment.masterEndpoint,
    masterAlive: assignment.masterAlive,
    inSyncBrokerIds: assignment.inSyncBrokerIds.map(BigInt),
    inSyncSetVersion: BigInt(assignment.inSyncSetVersion),
    ...(assignment.epochStartLogOffset === undefined ? {} : { epochStartLogOffset: BigInt(assignment.epochStartLogOffset) }),
  };
}

function groupToWire(view: GroupView) {
  const { group } = view;
  return {
    clusterName: group.clusterName,
    brokerName: group.brokerName,
    epoch: BigInt(group.epoch),
    masterBrokerId: BigInt(group.masterBrokerId),
    masterEndpoint: group.members.find((member) => member.brokerId === group.masterBrokerId)?.endpoint ?? '',
    masterAlive: view.masterAlive,
    inSyncBrokerIds: group.inSyncBrokerIds.map(BigInt),
    inSyncSetVersion: BigInt(group.inSyncSetVersion),
    ...(group.epochStartLogOffset === undefined ? {} : { epochStartLogOffset: BigInt(group.epochStartLogOffset) }),
    brokers: view.brokers.map((broker) => {
      const report = broker.liveness?.report;
      return {
        brokerId: BigInt(broker.brokerId),
        endpoint: broker.endpoint,
        reportedRole: report ? roleToWire(report.role) : controller.ReplicaRole.UNSPECIFIED,
        reportedEpoch: BigInt(report?.epoch ?? 0),
        logEndOffset: BigInt(report?.logEndOffset ?? 0),
        confirmedLogOffset: BigInt(report?.confirmedLogOffset ?? 0),
        lastHeartbeatMs: BigInt(broker.liveness?.lastHeartbeatMs ?? 0),
        alive: broker.alive,
        inSync: broker.inSync,
        ...(broker.progress ? { ackedLogOffset: BigInt(broker.progress.ackedLogOffset), behindMs: BigInt(broker.progress.behindMs) } : {}),
      };
    }),
  };
}

function requiredName(value: string, field: string): string {
  if (value.length === 0) throw new RmqError('BAD_REQUEST', { reason: `${field} is required` });
  if (value.length > REPLICATION_LIMITS.nameLengthMax) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} is ${value.length} characters; the limit is ${REPLICATION_LIMITS.nameLengthMax}` });
  }
  return value;
}

function endpointOf(value: string): string {
  requiredName(value, 'endpoint');
  try {
    parseHostPort(value, 'endpoint');
  } catch (error) {
    throw new RmqError('BAD_REQUEST', { reason: error instanceof Error ? error.message : String(error) });
  }
  return value;
}

function brokerIdOf(value: bigint, field: string): number {
  if (value < 0n || value > BigInt(REPLICATION_LIMITS.brokerIdMax)) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} must be between 0 and ${REPLICATION_LIMITS.brokerIdMax}, got ${value}` });
  }
  return Number(value);
}

function idList(values: readonly bigint[], field: string): number[] {
  if (values.length > REPLICATION_LIMITS.brokersPerGroupMax) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} lists ${values.length} brokers; a group has at most ${REPLICATION_LIMITS.brokersPerGroupMax}` });
  }
  return values.map((value) => brokerIdOf(value, field));
}

function offsetOf(value: bigint, field: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} must be between 0 and ${Number.MAX_SAFE_INTEGER}, got ${value}` });
  }
  return Number(value);
}
