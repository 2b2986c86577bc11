import { admin, create, namesrv } from '@rmq/contracts';
import { brokerTargetsOf, buildSnapshot, type BrokerReplies, type BrokerTarget, type Outcome } from './cluster-snapshot';

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const failed = (error: string): Outcome<never> => ({ ok: false, error });

function target(brokerName: string, brokerId: number, endpoint: string): BrokerTarget {
  return { clusterName: 'c1', brokerName, brokerId, endpoint };
}

/** A broker that answered everything, with queues given as topic -> max offset per queue id. */
function answered(broker: BrokerTarget, topics: Record<string, number[]>, logEndOffset = 1_000): BrokerReplies {
  return {
    target: broker,
    status: ok(create(admin.GetBrokerStatusResponseSchema, { role: broker.brokerId === 0 ? 'master' : 'slave', epoch: 3n, logEndOffset: BigInt(logEndOffset), confirmedOffset: 900n })),
    topicList: ok(create(admin.ListTopicsResponseSchema, { topics: Object.keys(topics).map((name) => ({ name })) })),
    topics: Object.entries(topics).map(([topic, maxOffsets]) => ({
      topic,
      reply: ok(create(admin.GetTopicResponseSchema, { queues: maxOffsets.map((maxOffset, queueId) => ({ queueId, minOffset: 0n, maxOffset: BigInt(maxOffset) })) })),
    })),
  };
}

describe('brokerTargetsOf', () => {
  it('lists each live broker endpoint once, in a stable order, up to the limit', () => {
    const live = (brokerName: string, brokerId: bigint, endpoint: string) => ({
      broker: { broker: { clusterName: 'c1', brokerName, brokerId }, endpoint },
    });
    const reply = create(namesrv.GetClusterInfoResponseSchema, {
      brokers: [live('broker-b', 0n, 'b:1'), live('broker-a', 1n, 'a2:1'), live('broker-a', 0n, 'a:1'), live('broker-a', 0n, 'a:1'), live('broker-c', 0n, '')],
    });
    expect(brokerTargetsOf(reply, 10)).toEqual([target('broker-a', 0, 'a:1'), target('broker-a', 1, 'a2:1'), target('broker-b', 0, 'b:1')]);
    expect(brokerTargetsOf(reply, 2)).toHaveLength(2);
  });
});

describe('buildSnapshot', () => {
  const masterA = target('broker-a', 0, 'a:1');
  const slaveA = target('broker-a', 1, 'a2:1');
  const masterB = target('broker-b', 0, 'b:1');

  it('shows every broker that answered as up, with its status and topic count', () => {
    const snapshot = buildSnapshot({ takenAtMs: 42, nameServer: ok('ns:1'), brokers: [answered(masterA, { TopicA: [5, 7], TopicB: [3] }, 1_234)] });
    expect(snapshot).toMatchObject({ takenAtMs: 42, nameServer: 'ns:1' });
    expect(snapshot.brokers).toEqual([
      { ...masterA, up: true, role: 'master', epoch: 3, logEndOffset: 1_234, confirmedOffset: 900, topicCount: 2, topicErrors: [] },
    ]);
  });

  it('counts each queue once across the replicas of a group, and adds up the queues of different groups', () => {
    const snapshot = buildSnapshot({
      takenAtMs: 0,
      nameServer: ok('ns:1'),
      brokers: [answered(masterA, { TopicA: [5, 7] }), answered(slaveA, { TopicA: [5, 6] }), answered(masterB, { TopicA: [10], TopicB: [3] })],
    });
    expect(snapshot.topics).toEqual([
      { clusterName: 'c1', topic: 'TopicA', messages: 22, queueCount: 3, brokerNames: ['broker-a', 'broker-b'] },
      { clusterName: 'c1', topic: 'TopicB', messages: 3, queueCount: 1, brokerNames: ['broker-b'] },
    ]);
  });

  it('shows a broker that did not answer as down, with why, and leaves its topics out', () => {
    const down: BrokerReplies = { ...answered(masterB, { TopicA: [10] }), status: failed('4 DEADLINE_EXCEEDED: Deadline exceeded') };
    const snapshot = buildSnapshot({ takenAtMs: 0, nameServer: ok('ns:1'), brokers: [answered(masterA, { TopicA: [5] }), down] });
    expect(snapshot.brokers[1]).toEqual({ ...masterB, up: false, error: 'GetBrokerStatus: 4 DEADLINE_EXCEEDED: Deadline exceeded', topicErrors: [] });
    expect(snapshot.topics).toEqual([{ clusterName: 'c1', topic: 'TopicA', messages: 5, queueCount: 1, brokerNames: ['broker-a'] }]);
  });

  it('keeps a broker up when only one of its topics could not be read', () => {
    const replies = answered(masterA, { TopicA: [5], Gone: [1] });
    replies.topics[1] = { topic: 'Gone', reply: failed('5 NOT_FOUND: topic Gone does not exist') };
    const snapshot = buildSnapshot({ takenAtMs: 0, nameServer: ok('ns:1'), brokers: [replies] });
    expect(snapshot.brokers[0]).toMatchObject({ up: true, topicCount: 2, topicErrors: [{ topic: 'Gone', error: '5 NOT_FOUND: topic Gone does not exist' }] });
    expect(snapshot.topics.map((t) => t.topic)).toEqual(['TopicA']);
  });

  it('sums a group\'s progress per topic over the masters only, leaving broadcast members out', () => {
    const progress = (queues: { topic: string; committedOffset: number; inflight: number; lag: number; member?: string }[]) =>
      [{ group: 'G', reply: ok(create(admin.GetGroupResponseSchema, { exists: true, queues: queues.map((q) => ({ ...q, committedOffset: BigInt(q.committedOffset), lag: BigInt(q.lag), maxOffset: 0n })) })) }];
    const withGroups = (replies: BrokerReplies, groups: BrokerReplies['groups']): BrokerReplies => ({ ...replies, groups });
    const snapshot = buildSnapshot({
      takenAtMs: 0,
      nameServer: ok('ns:1'),
      brokers: [
        withGroups(answered(masterA, {}), progress([{ topic: 'T', committedOffset: 4, inflight: 1, lag: 6 }, { topic: 'T', committedOffset: 1, inflight: 0, lag: 0, member: 'client-1' }])),
        withGroups(answered(slaveA, {}), progress([{ topic: 'T', committedOffset: 4, inflight: 1, lag: 6 }])), // the slave's copy
        withGroups(answered(masterB, {}), progress([{ topic: 'T', committedOffset: 10, inflight: 2, lag: 3 }, { topic: 'U', committedOffset: 0, inflight: 0, lag: 5 }])),
      ],
    });
    expect(snapshot.groups).toEqual([
      { clusterName: 'c1', group: 'G', topic: 'T', lag: 9, inflight: 3, consumed: 14 },
      { clusterName: 'c1', group: 'G', topic: 'U', lag: 5, inflight: 0, consumed: 0 },
    ]);
  });

  it('says why when no name server answered', () => {
    expect(buildSnapshot({ takenAtMs: 0, nameServer: failed('ns:1: UNAVAILABLE'), brokers: [] })).toEqual({
      takenAtMs: 0,
      nameServerError: 'ns:1: UNAVAILABLE',
      brokers: [],
      topics: [],
      groups: [],
    });
  });
});
