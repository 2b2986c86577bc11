// A broker answering QueryRoute itself puts its own view into the name servers' route: a broker
// promoted a moment ago routes itself as master, and a topic created a moment ago is routed,
// before any name server has heard of either. The group's members are then chosen by the same
// rule as the name server's (routed-members.ts), so every answer names one master per epoch.
import { routedMembers } from './routed-members';
import type { BrokerEndpoint, QueueData, TopicRoute } from './topic-route';

export interface SelfInRoute {
  member: BrokerEndpoint;
  /** The topic's queues as this broker holds them (its permission applied), or undefined without the topic. */
  queues: QueueData | undefined;
}

export function routeWithSelf(topic: string, route: TopicRoute | undefined, self: SelfInRoute): TopicRoute | undefined {
  const brokerName = self.member.identity.brokerName;
  const inGroup = (broker: BrokerEndpoint) => broker.identity.brokerName === brokerName;
  const others = (route?.brokers ?? []).filter((broker) => inGroup(broker) && broker.identity.brokerId !== self.member.identity.brokerId);
  // This broker knows its own role better than a name server does: it wins a tie with their view.
  const members = [...others.map((broker) => ({ ...broker, claimedAtMs: 0 })), { ...self.member, claimedAtMs: 1 }];
  const { master, slaves } = routedMembers(members);
  const routed = [...(master ? [master] : []), ...slaves].map(({ claimedAtMs: _claimed, ...broker }) => broker);
  const selfRouted = routed.some((broker) => broker.identity.brokerId === self.member.identity.brokerId);
  const known = route?.queues.find((queues) => queues.brokerName === brokerName);
  const selfIsMaster = master?.identity.brokerId === self.member.identity.brokerId;
  const queues = (selfIsMaster && self.queues) || known || (selfRouted ? self.queues : undefined);

  const result: TopicRoute = {
    topic,
    queues: (route?.queues ?? []).filter((entry) => entry.brokerName !== brokerName),
    brokers: (route?.brokers ?? []).filter((broker) => !inGroup(broker)),
  };
  if (queues) {
    result.queues.push({ ...queues, brokerName });
    result.brokers.push(...routed);
  }
  result.queues.sort((a, b) => compareText(a.brokerName, b.brokerName));
  result.brokers.sort((a, b) => compareText(a.identity.brokerName, b.identity.brokerName));
  return result.queues.length === 0 ? undefined : result;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
