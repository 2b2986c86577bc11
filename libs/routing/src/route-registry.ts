// The name server's state: live brokers, each with its full topic table and a lease. Pure: no
// I/O, no timers; time comes in as nowMs, and the caller runs expire() on its own schedule.
// Invariant: a broker is in the registry only until expire() runs at or after its expiresAtMs.
// Routes name each group's master by epoch (routed-members.ts); the highest epoch of a group is
// remembered after its members are gone, so a master of an older epoch coming back is not routed.
import { assert, RmqError } from '@rmq/base';
import { brokerKeyOf, PERM_READ_WRITE, type BrokerIdentity, type BrokerRegistration, type TopicConfig } from './broker-registration';
import { BROKER_COUNT_MAX, clampLeaseMs, GROUP_EPOCH_COUNT_MAX } from './limits';
import { registrationProblem } from './registration-problem';
import { routedMembers, type GroupMember } from './routed-members';
import type { BrokerEndpoint, LiveBroker, QueueData, RegistryStats, TopicRoute } from './topic-route';

interface BrokerState extends GroupMember {
  registration: BrokerRegistration;
  topics: ReadonlyMap<string, TopicConfig>;
  lastHeartbeatMs: number;
  leaseMs: number;
}

/** A broker group as routes name it: the master of its highest epoch and that epoch's slaves. */
export interface GroupEndpoints {
  clusterName: string;
  brokerName: string;
  /** The group's highest epoch seen. */
  epoch: number;
  /** Undefined while no master of that epoch is live (an election, or every member gone). */
  master: BrokerEndpoint | undefined;
  slaves: BrokerEndpoint[];
}

export interface RegisterOutcome {
  /** The lease granted, after clamping the one asked for. */
  leaseMs: number;
  /** True when the broker was not live before this registration. */
  isNew: boolean;
  /** True when its role or epoch differs from its previous registration (or it is new). */
  roleChanged: boolean;
  /** False when routes leave it out: its epoch is below the group's highest, or another master won a tie. */
  routed: boolean;
  /** Other live brokers claiming master in the same epoch (a controller never allows it: worth a warning). */
  conflictingMasters: BrokerIdentity[];
}

export class RouteRegistry {
  private readonly brokers = new Map<string, BrokerState>();
  /** The highest epoch registered per broker group (cluster, broker name), kept after its members expire. */
  private readonly groupEpochs = new Map<string, number>();

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
    const previous = this.brokers.get(key);
    const roleChanged = !previous || previous.role !== registration.role || previous.epoch !== registration.epoch;
    const state: BrokerState = {
      registration: { ...registration, identity: { ...identity }, topics: [...registration.topics] },
      topics: new Map(registration.topics.map((topic) => [topic.name, { ...topic }])),
      lastHeartbeatMs: nowMs,
      leaseMs,
      identity: { ...identity },
      role: registration.role,
      epoch: registration.epoch,
      claimedAtMs: roleChanged ? nowMs : previous.claimedAtMs,
    };
    this.brokers.set(key, state);
    this.noteEpoch(identity, registration.epoch);
    const members = this.routedMembersOf(identity.clusterName, identity.brokerName);
    const routed = members.master === state || members.slaves.includes(state);
    const conflictingMasters = registration.role === 'master' && registration.epoch === members.epoch
      ? [members.master, ...members.conflicting].filter((other) => other && other !== state).map((other) => ({ ...other!.identity }))
      : [];
    return { leaseMs, isNew, roleChanged, routed, conflictingMasters };
  }

  /** Removes a broker at once; returns it, or undefined when it was not live. */
  unregister(identity: BrokerIdentity): LiveBroker | undefined {
    const key = brokerKeyOf(identity);
    const state = this.brokers.get(key);
    if (!state) return undefined;
    this.brokers.delete(key);
    return liveBrokerOf(state, false);
  }

  /** Removes every broker whose lease ran out at or before nowMs and returns them. */
  expire(nowMs: number): LiveBroker[] {
    assert(Number.isFinite(nowMs), 'nowMs must be a finite number', { nowMs });
    const expired: LiveBroker[] = [];
    for (const [key, state] of this.brokers) {
      if (nowMs >= state.lastHeartbeatMs + state.leaseMs) {
        this.brokers.delete(key);
        expired.push(liveBrokerOf(state, false));
      }
    }
    return expired;
  }

  /** The route of a topic over live brokers, or undefined when none holds it. */
  routeOf(topic: string): TopicRoute | undefined {
    const groups = [...this.groups()].sort(([, a], [, b]) => compareText(a[0].identity.brokerName, b[0].identity.brokerName));
    const queues: QueueData[] = [];
    const brokers: BrokerEndpoint[] = [];
    for (const [key, group] of groups) {
      const brokerName = group[0].identity.brokerName;
      const { master, slaves } = routedMembers(group, this.groupEpochs.get(key));
      const members = master ? [master, ...slaves] : slaves;
      // The master speaks for the group's queues; a slave only while there is none or it lacks the topic.
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

  /** Every live broker, sorted by cluster, broker name and broker id, with whether routes list it. */
  clusterInfo(): LiveBroker[] {
    const routed = new Set<BrokerState>();
    for (const [key, group] of this.groups()) {
      const { master, slaves } = routedMembers(group, this.groupEpochs.get(key));
      if (master) routed.add(master);
      for (const slave of slaves) routed.add(slave);
    }
    return [...this.brokers.values()]
      .sort((a, b) => compareIdentity(a.registration.identity, b.registration.identity))
      .map((state) => liveBrokerOf(state, routed.has(state)));
  }

  /**
   * Who serves a broker group now, by broker name alone (a name belongs to one cluster at a time):
   * its routed master and slaves, as a route lists them; undefined when no member is live and no
   * epoch of the group is remembered (a name this name server never heard of).
   */
  groupOf(brokerName: string): GroupEndpoints | undefined {
    const clusterName = this.clusterOwning(brokerName) ?? this.rememberedClusterOf(brokerName);
    if (clusterName === undefined) return undefined;
    const { master, slaves, epoch } = this.routedMembersOf(clusterName, brokerName);
    return { clusterName, brokerName, epoch, master: master && endpointOf(master), slaves: slaves.map(endpointOf) };
  }

  /** The highest epoch registered for a broker group, if any member ever registered. */
  groupEpoch(clusterName: string, brokerName: string): number | undefined {
    return this.groupEpochs.get(groupKeyOf({ clusterName, brokerName }));
  }

  stats(): RegistryStats {
    const topics = new Set<string>();
    for (const state of this.brokers.values()) for (const name of state.topics.keys()) topics.add(name);
    return { liveBrokerCount: this.brokers.size, topicCount: topics.size };
  }

  /** Live brokers by group key (a broker name belongs to one cluster at a time). */
  private groups(): Map<string, BrokerState[]> {
    const groups = new Map<string, BrokerState[]>();
    for (const state of this.brokers.values()) {
      const key = groupKeyOf(state.identity);
      const members = groups.get(key);
      if (members) members.push(state);
      else groups.set(key, [state]);
    }
    return groups;
  }

  private routedMembersOf(clusterName: string, brokerName: string) {
    const group = [...this.brokers.values()].filter(
      (state) => state.identity.clusterName === clusterName && state.identity.brokerName === brokerName,
    );
    return routedMembers(group, this.groupEpochs.get(groupKeyOf({ clusterName, brokerName })));
  }

  /** Remembers the group's highest epoch; bounded by forgetting groups with no live member first. */
  private noteEpoch(identity: BrokerIdentity, epoch: number): void {
    const key = groupKeyOf(identity);
    this.groupEpochs.set(key, Math.max(epoch, this.groupEpochs.get(key) ?? 0));
    if (this.groupEpochs.size <= GROUP_EPOCH_COUNT_MAX) return;
    const live = new Set([...this.brokers.values()].map((state) => groupKeyOf(state.identity)));
    for (const known of this.groupEpochs.keys()) {
      if (this.groupEpochs.size <= GROUP_EPOCH_COUNT_MAX) break;
      if (!live.has(known)) this.groupEpochs.delete(known);
    }
  }

  /** The cluster of a group whose members are all gone but whose epoch is remembered. */
  private rememberedClusterOf(brokerName: string): string | undefined {
    for (const key of this.groupEpochs.keys()) {
      const [clusterName, name] = JSON.parse(key) as [string, string];
      if (name === brokerName) return clusterName;
    }
    return undefined;
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
  const { identity, endpoint, zone, role, epoch } = state.registration;
  return { identity: { ...identity }, endpoint, zone, role, epoch };
}

function liveBrokerOf(state: BrokerState, routed: boolean): LiveBroker {
  return {
    ...endpointOf(state),
    brokerPerm: state.registration.brokerPerm,
    topicCount: state.topics.size,
    lastHeartbeatMs: state.lastHeartbeatMs,
    leaseMs: state.leaseMs,
    expiresAtMs: state.lastHeartbeatMs + state.leaseMs,
    routed,
  };
}

function groupKeyOf(identity: Pick<BrokerIdentity, 'clusterName' | 'brokerName'>): string {
  return JSON.stringify([identity.clusterName, identity.brokerName]);
}

function compareIdentity(a: BrokerIdentity, b: BrokerIdentity): number {
  return (
    compareText(a.clusterName, b.clusterName) || compareText(a.brokerName, b.brokerName) || a.brokerId - b.brokerId
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
