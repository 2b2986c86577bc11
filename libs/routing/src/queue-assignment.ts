// Which member of a consumer group reads which queues (PushConsumer's QueryAssignment). Pure:
// the same queues and members always give the same answer, so assignments stay put while
// membership does not change, and every broker that answers computes the same thing.
// RocketMQ's "allocate averagely": members and queues sorted, each member a contiguous run of
// queues, run sizes differing by at most one, the first members taking the larger runs.

export interface QueueRef {
  brokerName: string;
  queueId: number;
}

export function compareQueues(a: QueueRef, b: QueueRef): number {
  return a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : a.queueId - b.queueId;
}

/** Every queue goes to exactly one member; a member with no queue gets an empty list. */
export function assignQueues<Q extends QueueRef>(queues: readonly Q[], members: readonly string[]): Map<string, Q[]> {
  const sortedMembers = [...new Set(members)].sort();
  const sortedQueues = [...queues].sort(compareQueues);
  const assignment = new Map<string, Q[]>(sortedMembers.map((member) => [member, []]));
  if (sortedMembers.length === 0) return assignment;
  const base = Math.floor(sortedQueues.length / sortedMembers.length);
  const larger = sortedQueues.length % sortedMembers.length;
  let next = 0;
  sortedMembers.forEach((member, index) => {
    const count = base + (index < larger ? 1 : 0);
    assignment.set(member, sortedQueues.slice(next, next + count));
    next += count;
  });
  return assignment;
}
