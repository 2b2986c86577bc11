// The name server's state: live brokers, each with its full topic table and a lease. Pure: no
// I/O, no timers; time comes in as nowMs, and the caller runs expire() on its own schedule.
// Invariant: a broker is in the registry only until expire() runs at or after its expiresAtMs.
import { assert, RmqError } from '@rmq/base';
import { brokerKeyOf, PERM_READ_WRITE, type BrokerIdentity, type BrokerRegistration, type TopicConfig } from './broker-registration';
import { BROKER_COUNT_MAX, clampLeaseMs } from './limits';
import { registrationProblem } from './registration-problem';
import type { BrokerEndpoint, LiveBroker, QueueData, RegistryStats, TopicRoute } from './topic-route';

interface BrokerState {
  registration: BrokerRegistration;
  topics: ReadonlyMap<string, TopicConfig>;
  lastHeartbeatMs: number;
  leaseMs: number;
}

export interface RegisterOutcome {
  /** The lease granted, after clamping the one asked for. */
  leaseMs: number;
  /** True when the broker was not live before this registration. */
  isNew: boolean;
}

export class RouteRegistry {
  private readonly brokers = new Map<string, BrokerState>();

  /**
   * Registers a broker or renews its lease, replacing its topic table. Throws BAD_REQUEST for
   * invalid input or a broker name already live in another cluster, TOO_MANY_REQUESTS when full.
   */
  register(registration: BrokerRegistration, nowMs: number): RegisterOutcome {
    assert(Number.isFinite(nowMs), 'nowMs must be a finite number', { nowMs });
    const problem = registrationProblem(registration);
    if (problem) throw new RmqError('BAD_REQUEST', { reason: problem });
    const { identity } = registration;
    const owner = this.clusterOwning(identity.brokerName);
    if (owner !== undefined && owner !== identity.clusterName) {
      throw new RmqError('BAD_REQUEST', {
        reason: `broker name ${identity.brokerName} is already registered in cluster ${owner}, not ${identity.clusterName}`,
      });
    }
    const key = brokerKeyOf(identity);
    const isNew = !this.brokers.has(key);
    if (isNew && this.brokers.size >= BROKER_COUNT_MAX) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `the name server already tracks ${BROKER_COUNT_MAX} brokers` });
    }
    const leaseMs = clampLeaseMs(registration.leaseMs);
    this.brokers.set(key, {
      registration: { ...registration, identity: { ...identity }, topics: [...registration.topics] },
      topics: new Map(registration.topics.map((topic) => [topic.name, { ...topic }])),
      lastHeartbeatMs: nowMs,
      leaseMs,
    });
    return { leaseMs, isNew };
  }

  /** Removes a broker at once; returns it, or undefined when it was not live. */
  unregister(identity: BrokerIdentity): LiveBroker | undefined {
    const key = brokerKeyOf(identity);
    const state = this.brokers.get(key);
    if (!state) return undefined;
    this.brokers.delete(key);
    return liveBrokerOf(state);
  }

  /** Removes every broker whose lease ran out at or before nowMs and returns them. */
  expire(nowMs: number): LiveBroker[] {
    assert(Number.isFinite(nowMs), 'nowMs must be a finite number', { nowMs });
    const expired: LiveBroker[] = [];
    for (const [key, state] of this.brokers) {
      if (nowMs >= state.lastHeartbeatMs + state.leaseMs) {
        this.brokers.delete(key);
        expired.push(liveBrokerOf(state));
      }
    }
    return expired;
  }

  /** The route of a topic over live brokers, or undefined when none holds it. */
  routeOf(topic: string): TopicRoute | undefined {
    const groups = new Map<string, BrokerState[]>();
    for (const state of this.brokers.values()) {
      const name = state.registration.identity.brokerName;
      const members = groups.get(name);
      if (members) members.push(state);
      else groups.set(name, [state]);
    }
    const queues: QueueData[] = [];
    const brokers: BrokerEndpoint[] = [];
    for (const brokerName of [...groups.keys()].sort(compareText)) {
      const members = groups.get(brokerName)!.sort(byBrokerId);
      // The lowest live brokerId (the master while it lives) speaks for the group's queues.
      const holder = members.find((member) => member.topics.has(topic));
      if (!holder) continue;
      const config = holder.topics.get(topic)!;
      queues.push({
        brokerName,
        readQueueCount: config.readQueueCount,
        writeQueueCount: config.writeQueueCount,
        perm: effectivePerm(config.perm, holder.registration.brokerPerm),
        messageType: config.messageType,
      });
      brokers.push(...members.map(endpointOf));
    }
    return queues.length === 0 ? undefined : { topic, queues, brokers };
  }

  /** Every live broker, sorted by cluster, broker name and broker id. */
  clusterInfo(): LiveBroker[] {
    return [...this.brokers.values()]
      .sort((a, b) => compareIdentity(a.registration.identity, b.registration.identity))
      .map(liveBrokerOf);
  }

  stats(): RegistryStats {
    const topics = new Set<string>();
    for (const state of this.brokers.values()) for (const name of state.topics.keys()) topics.add(name);
    return { liveBrokerCount: this.brokers.size, topicCount: topics.size };
  }

  private clusterOwning(brokerName: string): string | undefined {
    for (const state of this.brokers.values()) {
      if (state.registration.identity.brokerName === brokerName) return state.registration.identity.clusterName;
    }
    return undefined;
  }
}

/** A broker that refuses reads or writes clears those bits on all its queues. */
export function effectivePerm(topicPerm: number, brokerPerm: number): number {
  return (topicPerm & ~PERM_READ_WRITE) | (topicPerm & brokerPerm & PERM_READ_WRITE);
}

function endpointOf(state: BrokerState): BrokerEndpoint {
  const { identity, endpoint, zone } = state.registration;
  return { identity: { ...identity }, endpoint, zone };
}

function liveBrokerOf(state: BrokerState): LiveBroker {
  return {
    ...endpointOf(state),
    brokerPerm: state.registration.brokerPerm,
    topicCount: state.topics.size,
    lastHeartbeatMs: state.lastHeartbeatMs,
    leaseMs: state.leaseMs,
    expiresAtMs: state.lastHeartbeatMs + state.leaseMs,
  };
}

function byBrokerId(a: BrokerState, b: BrokerState): number {
  return a.registration.identity.brokerId - b.registration.identity.brokerId;
}

function compareIdentity(a: BrokerIdentity, b: BrokerIdentity): number {
  return (
    compareText(a.clusterName, b.clusterName) || compareText(a.brokerName, b.brokerName) || a.brokerId - b.brokerId
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
