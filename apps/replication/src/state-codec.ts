// The controller state file's format: JSON, versioned, checked field by field on the way in so a
// damaged or hand-edited file stops the controller at start instead of steering elections.
import { assertGroup, type Replica, type ReplicaGroup } from './replica-groups';

export const STATE_FORMAT_VERSION = 1;

export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

export function encodeState(groups: readonly ReplicaGroup[]): string {
  const sorted = [...groups].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  return JSON.stringify({ version: STATE_FORMAT_VERSION, groups: sorted }, null, 2) + '\n';
}

export function decodeState(text: string, source: string): ReplicaGroup[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StateFormatError(`${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = record(data, source);
  if (root.version !== STATE_FORMAT_VERSION) {
    throw new StateFormatError(`${source} has format version ${JSON.stringify(root.version)}; this controller reads ${STATE_FORMAT_VERSION}`);
  }
  if (!Array.isArray(root.groups)) throw new StateFormatError(`${source}: groups must be a list`);
  const groups = root.groups.map((value, index) => decodeGroup(value, `${source}: groups[${index}]`));
  const names = new Set(groups.map((group) => group.brokerName));
  if (names.size !== groups.length) throw new StateFormatError(`${source}: a broker name appears twice`);
  return groups;
}

function decodeGroup(value: unknown, where: string): ReplicaGroup {
  const raw = record(value, where);
  const group: ReplicaGroup = {
    clusterName: text(raw.clusterName, `${where}.clusterName`),
    brokerName: text(raw.brokerName, `${where}.brokerName`),
    epoch: count(raw.epoch, `${where}.epoch`),
    masterReplicaId: text(raw.masterReplicaId, `${where}.masterReplicaId`),
    inSyncReplicaIds: list(raw.inSyncReplicaIds, `${where}.inSyncReplicaIds`).map((id, i) => text(id, `${where}.inSyncReplicaIds[${i}]`)),
    replicas: list(raw.replicas, `${where}.replicas`).map((r, i) => decodeReplica(r, `${where}.replicas[${i}]`)),
  };
  try {
    assertGroup(group);
  } catch (error) {
    throw new StateFormatError(`${where} is inconsistent: ${error instanceof Error ? error.message : String(error)}`);
  }
  return group;
}

function decodeReplica(value: unknown, where: string): Replica {
  const raw = record(value, where);
  return {
    replicaId: text(raw.replicaId, `${where}.replicaId`),
    endpoint: text(raw.endpoint, `${where}.endpoint`),
    logEndOffset: count(raw.logEndOffset, `${where}.logEndOffset`),
    lastHeartbeatMs: count(raw.lastHeartbeatMs, `${where}.lastHeartbeatMs`),
  };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StateFormatError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new StateFormatError(`${where} must be a list`);
  return value;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new StateFormatError(`${where} must be a non-empty string`);
  return value;
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StateFormatError(`${where} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}
