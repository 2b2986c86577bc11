// Text output of the read commands: aligned tables and key/value blocks, no colours, one idea per
// line so the text survives copy/paste and grep. Pure: time comes in as nowMs.
import { admin, namesrv, toJson } from '@rmq/contracts';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';

const PERM_READ = 4;
const PERM_WRITE = 2;

/** Columns separated by two spaces; cells of numeric columns are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], numericColumns: readonly number[] = []): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numericColumns.includes(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Labels in one column, values beside them. */
export function keyValues(entries: readonly (readonly [string, string])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

/** RocketMQ permission bits (READ 4, WRITE 2) as RW, R-, -W or --. */
export function permText(perm: number): string {
  return (perm & PERM_READ ? 'R' : '-') + (perm & PERM_WRITE ? 'W' : '-');
}

export function messageTypeText(type: namesrv.TopicMessageType): string {
  switch (type) {
    case namesrv.TopicMessageType.NORMAL:
      return 'normal';
    case namesrv.TopicMessageType.FIFO:
      return 'fifo';
    case namesrv.TopicMessageType.DELAY:
      return 'delay';
    case namesrv.TopicMessageType.TRANSACTION:
      return 'transaction';
    default:
      return 'unspecified';
  }
}

/** "0.4 s ago", "12 s ago", "3 min ago", "2 h ago"; "in the future" when clocks disagree. */
export function ageText(thenMs: number, nowMs: number): string {
  const ageMs = nowMs - thenMs;
  if (ageMs < 0) return 'in the future';
  if (ageMs < 10_000) return `${(ageMs / 1000).toFixed(1)} s ago`;
  if (ageMs < 120_000) return `${Math.round(ageMs / 1000)} s ago`;
  if (ageMs < 7_200_000) return `${Math.round(ageMs / 60_000)} min ago`;
  return `${Math.round(ageMs / 3_600_000)} h ago`;
}

function queuesText(topic: namesrv.TopicConfig): string {
  return topic.readQueueCount === topic.writeQueueCount
    ? String(topic.readQueueCount)
    : `${topic.readQueueCount} read / ${topic.writeQueueCount} write`;
}

/** The reply as proto3 JSON with every field present, so scripts need no defaults table. */
export function jsonText<D extends DescMessage>(schema: D, message: MessageShape<D>): string {
  return JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: true }), null, 2);
}

export function createdTopicText(reply: admin.CreateTopicResponse, broker: string): string {
  const topic = reply.topic;
  if (!topic) return `broker ${broker} accepted the topic but returned no settings`;
  const settings = `${queuesText(topic)} queues, ${messageTypeText(topic.messageType)} messages, perm ${permText(topic.perm)}`;
  return reply.created
    ? `Created topic ${topic.name} on broker ${broker}: ${settings}.`
    : `Topic ${topic.name} already exists on broker ${broker} with these settings: ${settings}. Nothing changed.`;
}

export function topicListText(reply: admin.ListTopicsResponse, broker: string): string {
  if (reply.topics.length === 0) return `Broker ${broker} has no topics. Create one with: rmq topic create <name>`;
  const topics = [...reply.topics].sort((a, b) => a.name.localeCompare(b.name));
  return table(
    ['NAME', 'TYPE', 'QUEUES', 'PERM'],
    topics.map((topic) => [topic.name, messageTypeText(topic.messageType), queuesText(topic), permText(topic.perm)]),
  );
}

export function topicText(reply: admin.GetTopicResponse): string {
  const topic = reply.topic;
  const header = topic
    ? keyValues([
        ['Topic', topic.name],
        ['Type', messageTypeText(topic.messageType)],
        ['Queues', `${topic.readQueueCount} read, ${topic.writeQueueCount} write`],
        ['Perm', permText(topic.perm)],
      ])
    : 'The broker returned no topic settings.';
  const queues = [...reply.queues].sort((a, b) => a.queueId - b.queueId);
  const rows = queues.map((queue) => [
    String(queue.queueId),
    String(queue.minOffset),
    String(queue.maxOffset),
    String(queue.maxOffset - queue.minOffset),
  ]);
  return `${header}\n\n${table(['QUEUE', 'MIN OFFSET', 'MAX OFFSET', 'MESSAGES'], rows, [0, 1, 2, 3])}`;
}

export function clusterText(reply: namesrv.GetClusterInfoResponse, nameServer: string, nowMs: number): string {
  const count = reply.brokers.length;
  if (count === 0) {
    return `No brokers are registered with name server ${nameServer}. Start the local stack with \`npm start\`, or check the brokers' --name-servers.`;
  }
  const brokers = [...reply.brokers].sort((a, b) => {
    const x = a.broker?.broker;
    const y = b.broker?.broker;
    return (
      (x?.clusterName ?? '').localeCompare(y?.clusterName ?? '') ||
      (x?.brokerName ?? '').localeCompare(y?.brokerName ?? '') ||
      Number((x?.brokerId ?? 0n) - (y?.brokerId ?? 0n))
    );
  });
  const rows = brokers.map((live) => {
    const identity = live.broker?.broker;
    const brokerId = identity?.brokerId ?? 0n;
    return [
      identity?.clusterName ?? '',
      identity?.brokerName ?? '',
      String(brokerId),
      // A broker of an epoch below its group's highest is stale: routes leave it out.
      `${roleText(live.broker?.role)}${live.routed ? '' : ' (stale)'}`,
      String(live.broker?.epoch ?? 0n),
      live.broker?.endpoint ?? '',
      live.broker?.zone || '-',
      permText(live.brokerPerm),
      String(live.topicCount),
      ageText(Number(live.lastHeartbeatMs), nowMs),
    ];
  });
  const title = `Name server ${nameServer}: ${count} live broker${count === 1 ? '' : 's'}`;
  return `${title}\n\n${table(['CLUSTER', 'BROKER', 'ID', 'ROLE', 'EPOCH', 'ENDPOINT', 'ZONE', 'PERM', 'TOPICS', 'LAST HEARTBEAT'], rows, [2, 4, 8])}`;
}

export function roleText(role: namesrv.BrokerRole | undefined): string {
  return role === namesrv.BrokerRole.SLAVE ? 'slave' : 'master';
}

export function brokerRoleText(reply: admin.SetBrokerRoleResponse, broker: string): string {
  if (reply.role === namesrv.BrokerRole.MASTER) return `Broker ${broker} is now master in epoch ${reply.epoch}; it has registered with the name servers.`;
  const following = reply.masterEndpoint ? `follows master ${reply.masterEndpoint}` : 'looks for its master through the name servers';
  return `Broker ${broker} is now a slave in epoch ${reply.epoch}; it ${following}.`;
}

export function brokerStatusText(reply: admin.GetBrokerStatusResponse, address: string): string {
  const identity = reply.broker;
  const text = keyValues([
    ['Broker', identity ? `${identity.brokerName} (id ${identity.brokerId}, cluster ${identity.clusterName})` : '(not reported)'],
    ['Address', address],
    ['Role', reply.role || '(not reported)'],
    ['Epoch', String(reply.epoch)],
    ['Log end offset', String(reply.logEndOffset)],
    ['Confirmed offset', String(reply.confirmedOffset)],
    ['Durable offset', String(reply.durableOffset)],
    ['Committed offset', String(reply.committedOffset)],
    ['Flush mode', reply.flushMode || '(not reported)'],
    ['Topics', String(reply.topicCount)],
    ['Permission', permText(reply.brokerPerm)],
    ...replicationLines(reply),
  ]);
  if (reply.role !== 'master' || reply.slaves.length === 0) return text;
  const slaves = table(['SLAVE', 'IN SYNC', 'ACKED OFFSET', 'LAG BYTES', 'LAG MS'], reply.slaves.map((slave) => [
    slave.replicaId, slave.inSync ? 'yes' : 'no', String(slave.ackedOffset), String(slave.lagBytes), String(slave.lagMs),
  ]), [2, 3, 4]);
  return `${text}\n\n${slaves}`;
}

/** A master's in-sync set size; a slave's master, stream and lag. */
function replicationLines(reply: admin.GetBrokerStatusResponse): [string, string][] {
  if (reply.role === 'master') return [['In-sync replicas', `${reply.inSyncReplicas} (itself included)`]];
  if (reply.role === 'slave') return [['Master', reply.masterEndpoint || '(none)'], ['Following', reply.following ? `yes, ${reply.lagBytes} bytes behind` : 'no (reconnecting)']];
  return [];
}

export function updatedTopicText(reply: admin.UpdateTopicResponse, broker: string): string {
  const topic = reply.topic;
  if (!topic) return `broker ${broker} updated the topic but returned no settings`;
  return `Updated topic ${topic.name} on broker ${broker}: ${queuesText(topic)} queues, ${messageTypeText(topic.messageType)} messages, perm ${permText(topic.perm)}.`;
}

export function brokerPermissionText(reply: admin.SetBrokerPermissionResponse, broker: string): string {
  return `Broker ${broker} now has permission ${permText(reply.perm)}.`;
}

const CONSUME_TYPE_TEXT: Record<number, string> = { [admin.ConsumeType.CLUSTERING]: 'clustering', [admin.ConsumeType.BROADCAST]: 'broadcast' };

/** A consumer group's settings and, when given, its progress per queue. */
export function groupText(group: admin.GroupConfig | undefined, queues: readonly admin.GroupQueueProgress[], exists = true): string {
  if (!group) return 'The broker returned no group settings.';
  const header = keyValues([
    ['Group', exists ? group.name : `${group.name} (not created: the broker's defaults apply)`],
    ['Max attempts', String(group.maxAttempts)],
    ['Retry policy', group.retryPolicy],
    ['FIFO', group.fifo ? 'yes (FIFO topics in message-group order)' : 'no'],
    ['Consume type', CONSUME_TYPE_TEXT[group.consumeType] ?? String(group.consumeType)],
    ['Consume enabled', group.consumeEnabled ? 'yes' : 'no'],
  ]);
  if (queues.length === 0) return header;
  const broadcast = queues.some((queue) => queue.member !== '');
  const rows = queues.map((queue) => [
    queue.topic,
    String(queue.queueId),
    ...(broadcast ? [queue.member] : []),
    String(queue.committedOffset),
    String(queue.maxOffset),
    String(queue.inflight),
    String(queue.lag),
  ]);
  const headers = ['TOPIC', 'QUEUE', ...(broadcast ? ['MEMBER'] : []), 'COMMITTED', 'MAX OFFSET', 'IN FLIGHT', 'LAG'];
  const numeric = broadcast ? [1, 3, 4, 5, 6] : [1, 2, 3, 4, 5];
  const lag = queues.reduce((sum, queue) => sum + queue.lag, 0n);
  return `${header}\n\n${table(headers, rows, numeric)}\n\nTotal lag: ${lag}`;
}

export function groupListText(reply: admin.ListGroupsResponse, broker: string): string {
  if (reply.groups.length === 0) return `No consumer groups on ${broker} yet (groups are also created on first use).`;
  const rows = reply.groups.map((group) => [group.name, String(group.maxAttempts), group.retryPolicy, group.fifo ? 'yes' : 'no', CONSUME_TYPE_TEXT[group.consumeType] ?? '?', group.consumeEnabled ? 'yes' : 'no']);
  return table(['GROUP', 'MAX ATTEMPTS', 'RETRY', 'FIFO', 'TYPE', 'ENABLED'], rows, [1]);
}
