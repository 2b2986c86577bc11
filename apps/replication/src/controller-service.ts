// controller.ControllerService as a handler table: checks the request, converts wire types
// (int64 as bigint) to the controller's plain numbers and back. No decisions here.
import type { GenService } from '@bufbuild/protobuf/codegenv2';
import { RmqError } from '@rmq/base';
import { parseHostPort } from '@rmq/config';
import { controller, reply, type UnaryImplementation } from '@rmq/contracts';
import { NAME_LENGTH_MAX } from './limits';
import type { ReplicaController } from './replica-controller';

type Service = typeof controller.ControllerService extends GenService<infer S> ? S : never;

export function controllerService(replicaController: ReplicaController): UnaryImplementation<Service> {
  return {
    async replicaHeartbeat(request) {
      const answer = await replicaController.heartbeat({
        clusterName: requiredName(request.clusterName, 'cluster_name'),
        brokerName: requiredName(request.brokerName, 'broker_name'),
        replicaId: requiredName(request.replicaId, 'replica_id'),
        endpoint: endpointOf(request.endpoint),
        logEndOffset: offsetOf(request.logEndOffset, 'log_end_offset'),
      });
      return reply(controller.ReplicaHeartbeatResponseSchema, {
        role: answer.role === 'master' ? controller.ReplicaRole.MASTER : controller.ReplicaRole.SLAVE,
        epoch: BigInt(answer.epoch),
        masterReplicaId: answer.masterReplicaId,
        masterEndpoint: answer.masterEndpoint,
      });
    },

    async getReplicaGroup(request) {
      const { group, aliveReplicaIds } = await replicaController.group(requiredName(request.brokerName, 'broker_name'));
      return reply(controller.GetReplicaGroupResponseSchema, {
        brokerName: group.brokerName,
        epoch: BigInt(group.epoch),
        masterReplicaId: group.masterReplicaId,
        inSyncReplicaIds: [...group.inSyncReplicaIds],
        replicas: group.replicas.map((replica) => ({
          replicaId: replica.replicaId,
          endpoint: replica.endpoint,
          logEndOffset: BigInt(replica.logEndOffset),
          lastHeartbeatMs: BigInt(replica.lastHeartbeatMs),
          alive: aliveReplicaIds.has(replica.replicaId),
        })),
      });
    },
  };
}

function requiredName(value: string, field: string): string {
  if (value.length === 0) throw new RmqError('BAD_REQUEST', { reason: `${field} is required` });
  if (value.length > NAME_LENGTH_MAX) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} is ${value.length} characters; the limit is ${NAME_LENGTH_MAX}` });
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

function offsetOf(value: bigint, field: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RmqError('BAD_REQUEST', { reason: `${field} must be between 0 and ${Number.MAX_SAFE_INTEGER}, got ${value}` });
  }
  return Number(value);
}
