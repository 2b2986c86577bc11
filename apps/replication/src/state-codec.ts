// The controller state's format: JSON, versioned, checked field by field on the way in so a
// damaged or hand-edited state stops the controller instead of steering elections. The file
// store keeps every group in one document; the etcd store keeps one group per key.
import { assertGroup, type GroupMember, type ReplicaGroup } from '@rmq/replication';

/** 2: broker ids instead of replica ids, incarnation and in-sync set version (version 1 predates them). */
export const STATE_FORMAT_VERSION = 2;

export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

export function encodeState(groups: readonly ReplicaGroup[]): string {
  const sorted = [...groups].sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : 0));
  return JSON.stringify({ version: STATE_FORMAT_VERSION, groups: sorted }, null, 2) + '\n';
}

export function decodeState(text: string, source: string): ReplicaGroup[] {
  const root = versioned(text, source);
  if (!Array.isArray(root.groups)) throw new StateFormatError(`${source}: groups must be a list`);
  const groups = root.groups.map((value, index) => decodeGroup(value, `${source}: groups[${index}]`));
  const names = new Set(groups.map((group) => group.brokerName));
  if (names.size !== groups.length) throw new StateFormatError(`${source}: a broker name appears twice`);
  return groups;
}

export function encodeGroup(group: ReplicaGroup): string {
  return JSON.stringify({ version: STATE_FORMAT_VERSION, group });
}

export function decodeGroupRecord(text: string, source: string): ReplicaGroup {
  return decodeGroup(versioned(text, source).group, `${source}: group`);
}

function versioned(text: string, source: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StateFormatError(`${source} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = record(data, source);
  if (root.version !== STATE_FORMAT_VERSION) {
    throw new StateFormatError(
      `${source} has format version ${JSON.stringify(root.version)}; this controller reads ${STATE_FORMAT_VERSION} ` +
        '(a version 1 file comes from before brokers talked to the controller: delete it and the brokers register again)',
    );
  }
  return root;
}

function decodeGroup(value: unknown, where: string): ReplicaGroup {
  const raw = record(value, where);
  const group: ReplicaGroup = {
    clusterName: text(raw.clusterName, `${where}.clusterName`),
    brokerName: text(raw.brokerName, `${where}.brokerName`),
    epoch: count(raw.epoch, `${where}.epoch`),
    masterBrokerId: count(raw.masterBrokerId, `${where}.masterBrokerId`),
    masterIncarnation: text(raw.masterIncarnation, `${where}.masterIncarnation`),
    inSyncBrokerIds: list(raw.inSyncBrokerIds, `${where}.inSyncBrokerIds`).map((id, i) => count(id, `${where}.inSyncBrokerIds[${i}]`)),
    inSyncSetVersion: count(raw.inSyncSetVersion, `${where}.inSyncSetVersion`),
    ...(raw.epochStartLogOffset === undefined ? {} : { epochStartLogOffset: count(raw.epochStartLogOffset, `${where}.epochStartLogOffset`) }),
    members: list(raw.members, `${where}.members`).map((m, i) => decodeMember(m, `${where}.members[${i}]`)),
  };
  try {
    assertGroup(group);
  } catch (error) {
    throw new StateFormatError(`${where} is inconsistent: ${error instanceof Error ? error.message : String(error)}`);
  }
  return group;
}

function decodeMember(value: unknown, where: string): GroupMember {
  const raw = record(value, where);
  return { brokerId: count(raw.brokerId, `${where}.brokerId`), endpoint: text(raw.endpoint, `${where}.endpoint`) };
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
