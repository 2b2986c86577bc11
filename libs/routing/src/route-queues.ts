// A topic's route as the queue entries a RocketMQ 5 client reads (QueryRoute), shared by the
// name server and the brokers so both answer alike. The official Node client writes and
// receives only through queue-0 entries, takes one per broker name, and isolates an endpoint
// that failed for good, so each routed slave is listed as one more queue-0 entry of its group:
// after the master dies the client still has a live candidate, and the slave forwards to the
// master (or holds the call while an election runs). Slaves come first within a group so that
// the route's first endpoint, where a push consumer asks for its queues, outlives the master.
import type { BrokerEndpoint, TopicRoute } from './topic-route';
import type { TopicMessageType } from './broker-registration';

export interface RouteQueue {
  brokerName: string;
  /** 0 for the master (the protocol's "0 is the master"), 1, 2, ... for the slaves by broker id. */
  routeBrokerId: number;
  endpoint: string;
  zone: string;
  queueId: number;
  /** RocketMQ permission bits (READ 4, WRITE 2) of the group's queues. */
  perm: number;
  messageType: TopicMessageType;
}

export function routeQueues(route: TopicRoute | undefined): RouteQueue[] {
  if (!route) return [];
  const entries: RouteQueue[] = [];
  for (const queues of route.queues) {
    const members = route.brokers.filter((broker) => broker.identity.brokerName === queues.brokerName);
    const entry = (broker: BrokerEndpoint, routeBrokerId: number, queueId: number): RouteQueue => ({
      brokerName: queues.brokerName,
      routeBrokerId,
      endpoint: broker.endpoint,
      zone: broker.zone,
      queueId,
      perm: queues.perm,
      messageType: queues.messageType,
    });
    const slaves = members.filter((broker) => broker.role === 'slave').sort((a, b) => a.identity.brokerId - b.identity.brokerId);
    slaves.forEach((slave, index) => entries.push(entry(slave, index + 1, 0)));
    const master = members.find((broker) => broker.role === 'master');
    if (!master) continue;
    const queueCount = Math.max(queues.readQueueCount, queues.writeQueueCount);
    for (let queueId = 0; queueId < queueCount; queueId += 1) entries.push(entry(master, 0, queueId));
  }
  return entries;
}
