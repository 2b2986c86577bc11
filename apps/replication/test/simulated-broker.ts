// A broker as the controller sees it: a small client that heartbeats like a broker would (its
// own incarnation, the role and epoch it last acted on), reaching the leading controller through
// @rmq/client's ControllerClient (redirects followed). Tests drive its offsets and restarts.
import { randomUUID } from 'node:crypto';
import { ControllerClient } from '@rmq/client';
import { controller, createClient } from '@rmq/contracts';

export type WireAssignment = NonNullable<controller.BrokerHeartbeatResponse['assignment']>;

const CALL_DEADLINE_MS = 1_000;

function directClient(address: string) {
  return createClient(controller.ControllerService, address);
}

/** The controllers of a test: `call` reaches the leader as a broker does; `client(address)` talks to one controller. */
export class ControllerChannels extends ControllerClient {
  private readonly direct = new Map<string, ReturnType<typeof directClient>>();

  constructor(addresses: string[]) {
    super(addresses, { callTimeoutMs: CALL_DEADLINE_MS });
  }

  client(address: string): ReturnType<typeof directClient> {
    let client = this.direct.get(address);
    if (!client) {
      client = directClient(address);
      this.direct.set(address, client);
    }
    return client;
  }

  override close(): void {
    super.close();
    for (const client of this.direct.values()) client.close();
  }
}

export class SimulatedBroker {
  incarnation = randomUUID();
  role: 'master' | 'slave' = 'slave';
  epoch = 0;
  logEndOffset = 0;
  slaves: { brokerId: number; ackedLogOffset: number; behindMs: number }[] = [];
  last: WireAssignment | undefined;
  /** When the last heartbeat was answered (this process's clock). */
  lastBeatMs = 0;
  /** Every (epoch, role) this broker was told, in order. */
  readonly seen: { epoch: number; role: 'master' | 'slave' }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    public channels: ControllerChannels,
    readonly brokerName: string,
    readonly brokerId: number,
  ) {}

  get endpoint(): string {
    return `127.0.0.1:${20_000 + this.brokerId}`;
  }

  async beat(): Promise<WireAssignment> {
    const reply = await this.channels.call((client, options) =>
      client.brokerHeartbeat(
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
          slaves: this.role === 'master'
            ? this.slaves.map((s) => ({ brokerId: BigInt(s.brokerId), ackedLogOffset: BigInt(s.ackedLogOffset), behindMs: BigInt(s.behindMs) }))
            : [],
        },
        options,
      ),
    );
    const assignment = reply.assignment!;
    this.last = assignment;
    this.lastBeatMs = Date.now();
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
}
