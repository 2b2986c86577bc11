// Turning one round of replies (name server, then each broker's Admin API) into the cluster
// snapshot the metrics and /api/cluster show. Pure: replies and time come in, a snapshot goes
// out. int64 offsets become plain numbers here (exact below 2^53, far beyond any real log).
import type { admin, namesrv } from '@rmq/contracts';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface BrokerTarget {
  clusterName: string;
  brokerName: string;
  /** 0 is the master of its group. */
  brokerId: number;
  endpoint: string;
}

export interface BrokerReplies {
  target: BrokerTarget;
  status: Outcome<admin.GetBrokerStatusResponse>;
  topicList: Outcome<admin.ListTopicsResponse>;
  /** GetTopic per listed topic; empty when the broker did not answer the calls above. */
  topics: { topic: string; reply: Outcome<admin.GetTopicResponse> }[];
  /** GetGroup per listed consumer group (its progress per queue); absent when not read. */
  groups?: { group: string; reply: Outcome<admin.GetGroupResponse> }[];
}

export interface BrokerView extends BrokerTarget {
  /** True when the broker answered GetBrokerStatus and ListTopics in time. */
  up: boolean;
  error?: string;
  role?: string;
  epoch?: number;
  logEndOffset?: number;
  confirmedOffset?: number;
  topicCount?: number;
  /** Topics listed but not readable this round (deleted meanwhile, a timeout). */
  topicErrors: { topic: string; error: string }[];
}

export interface TopicView {
  clusterName: string;
  topic: string;
  /** Sum over the topic's queues of their max queue offset (messages ever written). */
  messages: number;
  queueCount: number;
  brokerNames: string[];
}

/** A consumer group's progress on a topic, over the masters of every broker group. */
export interface GroupView {
  clusterName: string;
  group: string;
  topic: string;
  /** Messages stored and not acknowledged by the group. */
  lag: number;
  /** Messages delivered to the group and not acknowledged. */
  inflight: number;
  /** Messages the group acknowledged (committed offsets summed): its rate is the consume rate. */
  consumed: number;
}

export interface ClusterSnapshot {
  takenAtMs: number;
  /** The name server that answered, or why none did. */
  nameServer?: string;
  nameServerError?: string;
  brokers: BrokerView[];
  topics: TopicView[];
  groups: GroupView[];
}

/** The brokers to poll: one per endpoint, in a stable order, at most `brokersMax`. */
export function brokerTargetsOf(reply: namesrv.GetClusterInfoResponse, brokersMax: number): BrokerTarget[] {
  const byEndpoint = new Map<string, BrokerTarget>();
  for (const live of reply.brokers) {
    const endpoint = live.broker?.endpoint ?? '';
    const identity = live.broker?.broker;
    if (endpoint === '' || !identity || byEndpoint.has(endpoint)) continue;
    byEndpoint.set(endpoint, {
      clusterName: identity.clusterName,
      brokerName: identity.brokerName,
      brokerId: Number(identity.brokerId),
      endpoint,
    });
  }
  return [...byEndpoint.values()].sort(compareTargets).slice(0, brokersMax);
}

export function buildSnapshot(input: { takenAtMs: number; nameServer: Outcome<string>; brokers: BrokerReplies[] }): ClusterSnapshot {
  const brokers = input.brokers.map(brokerView).sort(compareTargets);
  return {
    takenAtMs: input.takenAtMs,
    ...(input.nameServer.ok ? { nameServer: input.nameServer.value } : { nameServerError: input.nameServer.error }),
    brokers,
    topics: topicViews(input.brokers.filter((replies) => replies.status.ok && replies.topicList.ok)),
    groups: groupViews(input.brokers.filter((replies) => replies.status.ok && replies.status.value.role === 'master')),
  };
}

function brokerView(replies: BrokerReplies): BrokerView {
  const { target, status, topicList } = replies;
  if (!status.ok || !topicList.ok) {
    const error = [!status.ok && `GetBrokerStatus: ${status.error}`, !topicList.ok && `ListTopics: ${topicList.error}`].filter(Boolean).join('; ');
    return { ...target, up: false, error, topicErrors: [] };
  }
  return {
    ...target,
    up: true,
    role: status.value.role,
    epoch: Number(status.value.epoch),
    logEndOffset: Number(status.value.logEndOffset),
    confirmedOffset: Number(status.value.confirmedOffset),
    topicCount: topicList.value.topics.length,
    topicErrors: replies.topics.flatMap(({ topic, reply }) => (reply.ok ? [] : [{ topic, error: reply.error }])),
  };
}

/**
 * Replicas of one broker group hold the same queues, so each queue counts once: its highest max
 * offset among the replicas that answered. Queues of different groups add up.
 */
function topicViews(answered: BrokerReplies[]): TopicView[] {
  const queues = new Map<string, { clusterName: string; topic: string; maxOffsets: Map<string, number>; brokerNames: Set<string> }>();
  for (const { target, topics } of answered) {
    for (const { topic, reply } of topics) {
      if (!reply.ok) continue;
      const key = `${target.clusterName}\u0000${topic}`;
      let entry = queues.get(key);
      if (!entry) {
        entry = { clusterName: target.clusterName, topic, maxOffsets: new Map(), brokerNames: new Set() };
        queues.set(key, entry);
      }
      entry.brokerNames.add(target.brokerName);
      for (const queue of reply.value.queues) {
        const queueKey = `${target.brokerName}\u0000${queue.queueId}`;
        entry.maxOffsets.set(queueKey, Math.max(entry.maxOffsets.get(queueKey) ?? 0, Number(queue.maxOffset)));
      }
    }
  }
  return [...queues.values()]
    .map((entry) => ({
      clusterName: entry.clusterName,
      topic: entry.topic,
      messages: [...entry.maxOffsets.values()].reduce((sum, offset) => sum + offset, 0),
      queueCount: entry.maxOffsets.size,
      brokerNames: [...entry.brokerNames].sort(),
    }))
    .sort((a, b) => compareText(a.clusterName, b.clusterName) || compareText(a.topic, b.topic));
}

/** Masters only: a slave's copy of the progress would count every queue twice. Broadcast members are left out. */
function groupViews(masters: BrokerReplies[]): GroupView[] {
  const views = new Map<string, GroupView>();
  for (const { target, groups } of masters) {
    for (const { group, reply } of groups ?? []) {
      if (!reply.ok) continue;
      for (const queue of reply.value.queues) {
        if (queue.member) continue;
        const key = `${target.clusterName}\u0000${group}\u0000${queue.topic}`;
        let view = views.get(key);
        if (!view) views.set(key, (view = { clusterName: target.clusterName, group, topic: queue.topic, lag: 0, inflight: 0, consumed: 0 }));
        view.lag += Number(queue.lag);
        view.inflight += queue.inflight;
        view.consumed += Number(queue.committedOffset);
      }
    }
  }
  return [...views.values()].sort((a, b) => compareText(a.clusterName, b.clusterName) || compareText(a.group, b.group) || compareText(a.topic, b.topic));
}

function compareTargets(a: BrokerTarget, b: BrokerTarget): number {
  return compareText(a.clusterName, b.clusterName) || compareText(a.brokerName, b.brokerName) || a.brokerId - b.brokerId || compareText(a.endpoint, b.endpoint);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
