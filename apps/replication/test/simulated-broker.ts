// A broker as the controller sees it: a small client that heartbeats like a broker would (its
// own incarnation, the role and epoch it last acted on), tries every controller it is given and
// follows NOT_LEADER redirects. Tests drive its log offsets and start/stop it.
import { randomUUID } from 'node:crypto';
import { controller, controllerLeaderOf, createClient, errorCodeOf } from '@rmq/contracts';

export type ControllerClient = ReturnType<typeof createControllerClient>;
export type WireAssignment = NonNullable<controller.BrokerHeartbeatResponse['assignment']>;

const CALL_DEADLINE_MS = 1_000;

export function createControllerClient(address: string) {
  return createClient(controller.ControllerService, address);
}

/** One channel per controller address, shared by every simulated broker of a test file. */
export class ControllerChannels {
  private readonly clients = new Map<string, ControllerClient>();
  constructor(readonly addresses: string[]) {}
  client(address: string): ControllerClient {
    let client = this.clients.get(address);
    if (!client) {
      client = createControllerClient(address);
      this.clients.set(address, client);
    }
    return client;
  }
  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}

export class SimulatedBroker {
  incarnation = randomUUID();
  role: 'master' | 'slave' = 'slave';
  epoch = 0;
  logEndOffset = 0;
  slaves: { brokerId: number; ackedLogOffset: number; behindMs: number }[] = [];
  last: WireAssignment | undefined;
  /** Every (epoch, role) this broker was told, in order. */
  readonly seen: { epoch: number; role: 'master' | 'slave' }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private preferred: string | undefined;

  constructor(
    private readonly channels: ControllerChannels,
    readonly brokerName: string,
    readonly brokerId: number,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${20_000 + this.brokerId}`;
  }

  /** One heartbeat, to the known leader first, then every controller; follows one redirect per address. */
  async beat(): Promise<WireAssignment> {
    const order = [...new Set([this.preferred, ...this.channels.addresses].filter((a): a is string => !!a))];
    let lastError: unknown;
    for (const address of order) {
      try {
        return await this.beatAt(address);
      } catch (error) {
        lastError = error;
        const leader = errorCodeOf(error) === 'NOT_LEADER' ? controllerLeaderOf(error) : undefined;
        if (leader && leader !== address) {
          try {
            return await this.beatAt(leader);
          } catch (redirected) {
            lastError = redirected;
          }
        }
      }
    }
    throw lastError;
  }

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => void this.beat().catch(() => undefined), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A crash and restart: a new process, acting as a slave until told otherwise. */
  restart(): void {
    this.incarnation = randomUUID();
    this.role = 'slave';
  }

  private async beatAt(address: string): Promise<WireAssignment> {
    const reply = await this.channels.client(address).brokerHeartbeat(
      {
        clusterName: 'c1',
        brokerName: this.brokerName,
        brokerId: BigInt(this.brokerId),
        endpoint: this.endpoint,
        incarnation: this.incarnation,
        role: this.role === 'master' ? controller.ReplicaRole.MASTER : controller.ReplicaRole.SLAVE,
        epoch: BigInt(this.epoch),
        epochStartLogOffset: 0n,
        logEndOffset: BigInt(this.logEndOffset),
        confirmedLogOffset: BigInt(this.logEndOffset),
        slaves: this.role === 'master' ? this.slaves.map((s) => ({ brokerId: BigInt(s.brokerId), ackedLogOffset: BigInt(s.ackedLogOffset), behindMs: BigInt(s.behindMs) })) : [],
      },
      { deadlineMs: CALL_DEADLINE_MS },
    );
    this.preferred = address;
    const assignment = reply.assignment!;
    this.last = assignment;
    // Act on it as the role machine would, at once: a master takes the epoch; a slave learns it.
    const role = assignment.role === controller.ReplicaRole.MASTER ? 'master' : 'slave';
    const epoch = Number(assignment.epoch);
    if (epoch >= this.epoch) {
      this.role = role;
      this.epoch = epoch;
      const previous = this.seen.at(-1);
      if (previous?.epoch !== epoch || previous.role !== role) this.seen.push({ epoch, role });
    }
    return assignment;
  }
}
