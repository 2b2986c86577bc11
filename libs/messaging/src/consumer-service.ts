// Receive / ack / change-invisible-duration for consumer groups (RocketMQ 5 "pop" consumption):
// any member may take from any queue of the topic on this broker; a received message stays
// invisible to the group until acked or until its invisible duration ends, then it comes back
// with the next delivery attempt; past the group's maximum it goes to %DLQ%<group>. A broadcast
// group keeps progress per member (client id) instead, so every member gets every message.
// Each group follows its own settings (GroupRegistry). Every change of progress is journaled
// (ConsumerProgress). An ack or a change of invisible duration is answered once durable: one
// answered OK is never undone by a crash. A receive is answered once its delivery records reached
// the OS: a process crash keeps them (deadlines survive it); a machine crash may not, and then
// those messages are delivered again and their handles are refused as stale (decisions.md).
import { latencyProbe, RmqError } from '@rmq/base';
import { PERM_READ } from './topic-registry';
import { MESSAGING_LIMITS } from './limits';
import { ReceiveSlots } from './receive-slots';
import { ConsumerContext, type ConsumerServiceOptions } from './consumer-context';
import { checkInvisibleMs } from './consumer-errors';
import { DeadLetters } from './dead-letters';
import { ConsumerSweep } from './consumer-sweep';
import { ConsumerAcks } from './consumer-acks';
import { ReceiveLook, hasRoom, type Delivery, type Receive, type ReceiveRequest } from './receive-look';

export type { ConsumerServiceOptions } from './consumer-context';
export type { Delivery, ReceiveRequest } from './receive-look';
export { checkInvisibleMs } from './consumer-errors';

/** How often messages past their last attempt are looked for (RocketMQ's revive interval). */
const SWEEP_INTERVAL_MS = 1_000;

/**
 * The consumer side of the broker: receives (long polls over a group's look at every queue),
 * acks and the other receipt-handle operations, and the sweep; the parts are in their own modules.
 */
export class ConsumerService {
  private readonly context: ConsumerContext;
  private readonly look: ReceiveLook;
  private readonly acks: ConsumerAcks;
  private readonly sweeper: ConsumerSweep;
  private readonly unsubscribe: () => void;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly receiveSlots: ReceiveSlots;

  constructor(private readonly options: ConsumerServiceOptions) {
    this.context = new ConsumerContext(options);
    const deadLetters = new DeadLetters(this.context);
    this.look = new ReceiveLook(this.context, deadLetters);
    this.acks = new ConsumerAcks(this.context, deadLetters);
    this.sweeper = new ConsumerSweep(this.context, deadLetters);
    const wakeups = this.context.wakeups;
    this.unsubscribe = options.store.onConfirmed((topic, queueId) => wakeups.wakeQueue(topic, queueId));
    this.sweepTimer = setInterval(() => {
      this.sweeper.sweep().catch((error: unknown) => options.onSweepError?.(error));
    }, SWEEP_INTERVAL_MS).unref();
    this.receiveSlots = new ReceiveSlots({
      perClientMax: options.receiveSlots?.perClientMax ?? MESSAGING_LIMITS.receivesPerClientMaxDefault,
      perGroupMax: options.receiveSlots?.perGroupMax ?? MESSAGING_LIMITS.receivesPerGroupMaxDefault,
    });
  }

  /** Waits up to the long-polling time for at least one message; returns what it found. */
  async receive(received: ReceiveRequest): Promise<Delivery[]> {
    // A push consumer's receive of its assigned queue is one per queue; any other is counted.
    const assigned = received.push && received.pushQueueId !== undefined ? { topic: received.topic, queueId: received.pushQueueId } : undefined;
    const release = this.receiveSlots.acquire(received.group, received.clientId, assigned);
    try {
      return await this.receiveWaiting(received);
    } finally {
      release();
    }
  }

  /** Receives parked in a long poll now (waiting for a message), over all topics. */
  get receivesWaiting(): number {
    return this.context.wakeups.waiting;
  }

  /** Receives running now, over all clients and groups. */
  get receivesRunning(): number {
    return this.receiveSlots.count;
  }

  private async receiveWaiting(received: ReceiveRequest): Promise<Delivery[]> {
    const topic = this.options.topics.require(received.topic);
    const settings = this.options.groups.settingsOf(received.group);
    if (!settings.consumeEnabled) throw new RmqError('BAD_REQUEST', { reason: `consumer group ${received.group} is disabled (consume enabled is off); enable it with rmq group update` });
    // A literal, not a spread of `received`: V8 builds spreads on a slow path, and this runs per receive call.
    // (Typed so that a field added to ReceiveRequest and not copied here does not compile.)
    const request: { [K in keyof Required<Receive>]: Receive[K] } = {
      group: received.group, topic: received.topic, filter: received.filter, countMax: received.countMax, invisibleMs: received.invisibleMs,
      longPollingMs: received.longPollingMs, push: received.push, clientId: received.clientId, signal: received.signal,
      queueId: received.queueId, pushQueueId: received.pushQueueId, settings, member: this.context.memberOf(settings, received.clientId),
    };
    if (received.clientId) this.context.clientSeen(received.clientId);
    if ((topic.perm & PERM_READ) === 0) throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} is not readable on this broker` });
    if (request.queueId !== undefined && (request.queueId < 0 || request.queueId >= topic.queueCount)) {
      throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} has queues 0 to ${topic.queueCount - 1} on this broker, not queue ${request.queueId}` });
    }
    checkInvisibleMs(request.invisibleMs, request.push ? MESSAGING_LIMITS.invisibleMsMin : this.options.simpleInvisibleMsMin ?? MESSAGING_LIMITS.invisibleMsMin);
    const queueIds = request.queueId !== undefined ? [request.queueId] : allQueues(topic.queueCount);
    const deadlineMs = this.options.clock.nowMs() + request.longPollingMs;
    // New messages wake one long poll of this group (or broadcast member) per queue (topic-wakeups.ts).
    const scope = { owner: `${request.group}\u0000${request.member ?? ''}`, queueId: request.queueId };
    // Set from a wake until a look used it up (took all it could): else it goes to the next waiter.
    let holdsWake = false;
    let wokenAtMs: number | undefined;
    let resumedAtMs: number | undefined;
    try {
      for (;;) {
        const wakesBefore = this.context.wakeups.count(request.topic);
        if (request.signal?.aborted) return [];
        const gathered = await this.look.look(request, queueIds);
        const deliveries = gathered.deliveries;
        if (latencyProbe.enabled) latencyProbe.count(deliveries.length > 0 ? 'looks that found messages' : 'empty looks');
        if (latencyProbe.enabled && wokenAtMs !== undefined) {
          for (const { record } of deliveries) {
            latencyProbe.mark(record.logOffset, 'woken', wokenAtMs);
            latencyProbe.mark(record.logOffset, 'receiveResumed', resumedAtMs);
          }
        }
        // The caller went away while we were reading: what was claimed goes back at once.
        if (request.signal?.aborted) {
          await this.look.giveBack(request, deliveries);
          return [];
        }
        // A look that left messages behind (a full batch) passes its wake on: another waiter takes them.
        if (!gathered.leftBehind && hasRoom(request, gathered)) holdsWake = false;
        const nowMs = this.options.clock.nowMs();
        if (deliveries.length > 0 || nowMs >= deadlineMs) return deliveries;
        // Something arrived (or was released) while we were looking: look again before sleeping.
        if (this.context.wakeups.count(request.topic) !== wakesBefore) continue;
        const wakeAtMs = Math.min(deadlineMs, this.look.nextVisibleAtMs(request, queueIds) ?? deadlineMs);
        await this.context.wakeups.wait(request.topic, Math.max(1, wakeAtMs - nowMs), request.signal, scope);
        holdsWake = true;
        if (latencyProbe.enabled) {
          wokenAtMs = this.context.wakeups.lastWakeAtMs.get(request.topic);
          resumedAtMs = performance.now();
        }
      }
    } finally {
      if (holdsWake) this.context.wakeups.wakeOne(request.topic, scope.owner, request.queueId);
    }
  }

  /** Acks a delivery; resolves once the ack is durable. */
  async ack(group: string, topic: string, receiptHandle: string, clientId?: string): Promise<void> {
    const errors = await this.acks.ackAll(group, topic, [receiptHandle], clientId);
    if (errors) throw errors[0];
  }

  /** AckMessage: see ConsumerAcks.ackAll (each entry on its own; undefined when all were acked). */
  ackAll(group: string, topic: string, receiptHandles: readonly string[], clientId?: string): Promise<unknown[] | undefined> {
    return this.acks.ackAll(group, topic, receiptHandles, clientId);
  }

  /** A new invisible time for a received message (a push consumer's nack); its new handle. */
  changeInvisibleDuration(group: string, topic: string, receiptHandle: string, invisibleMs: number, clientId?: string): Promise<string> {
    return this.acks.changeInvisibleDuration(group, topic, receiptHandle, invisibleMs, clientId);
  }

  /** Moves a received message to the dead-letter topic now (FIFO consumers give up this way). */
  forwardToDeadLetter(group: string, topic: string, receiptHandle: string, clientId?: string): Promise<void> {
    return this.acks.forwardToDeadLetter(group, topic, receiptHandle, clientId);
  }

  /** The client made a request: it is alive, and its deliveries keep being renewed. */
  clientSeen(clientId: string): void {
    this.context.clientSeen(clientId);
  }

  /** The client said goodbye: its deliveries are no longer renewed and come back after their invisible time. */
  clientGone(clientId: string): void {
    this.context.renewals.clientGone(clientId);
  }

  /** Deliveries renewed server-side now. */
  get renewalCount(): number {
    return this.context.renewals.count;
  }

  /** Deadlines pushed back by server-side renewal so far. */
  get renewedTotal(): number {
    return this.sweeper.renewedTotal;
  }

  /** Broadcast members followed now. */
  get broadcastMemberCount(): number {
    return this.options.progress.broadcast.memberCount;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.unsubscribe();
    this.context.wakeups.wakeAll();
  }
}

/** The ids 0 .. count - 1, made once per queue count (every receive of a simple consumer reads them all). */
const queueIdLists = new Map<number, readonly number[]>();

function allQueues(count: number): readonly number[] {
  let ids = queueIdLists.get(count);
  if (!ids) queueIdLists.set(count, (ids = Object.freeze(Array.from({ length: count }, (_, queueId) => queueId))));
  return ids;
}
