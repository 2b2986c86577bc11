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
import { randomBytes } from 'node:crypto';
import { deadLetterTopicOf, latencyProbe, RmqError, type Clock } from '@rmq/base';
import { tagHashOf, type MessageStore, type StoredRecord } from '@rmq/store';
import { decodeReceiptHandle, encodeReceiptHandle, verifyReceiptHandle, type ReceiptHandle } from './receipt-handle';
import type { InflightEntry, QueueConsumption } from './queue-consumption';
import { PERM_READ, type TopicRegistry } from './topic-registry';
import type { MessageFilter } from './message-filter';
import { MESSAGING_LIMITS } from './limits';
import { SYSTEM_PROPERTY, userPropertiesOf } from './message-properties';
import { retryPolicyDelayMs } from './retry-policy';
import { AutoRenewals } from './auto-renew';
import { TopicWakeups } from './topic-wakeups';
import { ReceiveSlots, type ReceiveSlotBounds } from './receive-slots';
import type { GroupConfig, GroupRegistry } from './group-registry';
import type { ConsumerProgress, ProgressKey } from './consumer-progress';

export interface ReceiveRequest {
  group: string;
  topic: string;
  filter: MessageFilter;
  countMax: number;
  invisibleMs: number;
  longPollingMs: number;
  /**
   * A push consumer's receive (auto-renew): the broker renews the deliveries while the client is
   * alive, and a ChangeInvisibleDuration on one is a nack.
   */
  push?: boolean;
  /** The receiving client's id: whose progress it is in a broadcast group; whose deliveries are renewed. */
  clientId?: string;
  signal?: AbortSignal;
  /** Only this queue (a PushConsumer reads the queues assigned to it); every queue when absent. */
  queueId?: number;
  /** The queue a push consumer's receive names (it runs one receive per queue it was given). */
  pushQueueId?: number;
}

/** A receive with its group's settings and the broadcast member it is for (undefined outside broadcast groups). */
type Receive = ReceiveRequest & { member?: string; settings: GroupConfig };

/** Journal writes a reply waits for: it is sent only once they are recorded (written or durable, by kind). */
type Writes = Promise<void>[];

/**
 * Adds a journal write to those awaited together at the end of an operation. A write the journal
 * refuses (a broker between master and slave) rejects at once, while the operation still reads
 * the next message: marked handled here, so it is not an unhandled rejection that stops the
 * process; the operation's Promise.all still fails with it.
 */
function addWrite(writes: Writes, write: Promise<void>): void {
  // Changes recorded together share their record's promise: a receive of 1,000 messages awaits one, not 1,000.
  if (writes.includes(write)) return;
  write.catch(() => undefined);
  writes.push(write);
}

export interface Delivery {
  record: StoredRecord;
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleMs: number;
}

export interface ConsumerServiceOptions {
  store: MessageStore;
  topics: TopicRegistry;
  groups: GroupRegistry;
  progress: ConsumerProgress;
  clock: Clock;
  /** Signs receipt handles; shared through the journal so every replica accepts them. */
  secret: () => Buffer;
  onDeadLetter?: (group: string, record: StoredRecord) => void;
  onSweepError?: (error: unknown) => void;
  /** Retention deleted `count` messages of a queue before `group` consumed them. */
  onRetentionSkipped?: (group: string, topic: string, queueId: number, count: number) => void;
  /**
   * The least invisible duration a SimpleConsumer may ask for, on receive and on change
   * (RocketMQ: 10 s). Push consumers' receives and nacks are timed by the broker and exempt.
   */
  simpleInvisibleMsMin?: number;
  /** Receives running at once per client and per group (defaults: MESSAGING_LIMITS). */
  receiveSlots?: Partial<ReceiveSlotBounds>;
}

/** How often messages past their last attempt are looked for (RocketMQ's revive interval). */
const SWEEP_INTERVAL_MS = 1_000;
/** Looks for due messages per queue and receive (FIFO: a settled message releases the next of its group). */
const REDELIVERY_PASSES_MAX = 4;
/** Rounds of new-message reads per receive: queues that filled their share are asked again for what is left. */
const NEW_MESSAGE_PASSES_MAX = 4;
/** How long a message being moved to the dead-letter topic stays claimed before a retry. */
const DEAD_LETTER_RETRY_MS = 30_000;

export class ConsumerService {
  private readonly runId = randomBytes(4).toString('hex');
  private deliverySequence = 0;
  private renewedCount = 0;
  private rotation = 0;
  private readonly wakeups = new TopicWakeups();
  private readonly unsubscribe: () => void;

  private readonly queueLocks = new Map<string, Promise<void>>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly renewals = new AutoRenewals(MESSAGING_LIMITS.clientAliveMsMax, MESSAGING_LIMITS.autoRenewalsMax, MESSAGING_LIMITS.liveClientsMax);
  private readonly receiveSlots: ReceiveSlots;

  constructor(private readonly options: ConsumerServiceOptions) {
    this.unsubscribe = options.store.onConfirmed((topic, queueId) => this.wakeups.wakeQueue(topic, queueId));
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((error: unknown) => options.onSweepError?.(error));
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
    return this.wakeups.waiting;
  }

  /** Receives running now, over all clients and groups. */
  get receivesRunning(): number {
    return this.receiveSlots.count;
  }

  private async receiveWaiting(received: ReceiveRequest): Promise<Delivery[]> {
    const topic = this.options.topics.require(received.topic);
    const settings = this.options.groups.settingsOf(received.group);
    if (!settings.consumeEnabled) throw new RmqError('BAD_REQUEST', { reason: `consumer group ${received.group} is disabled (consume enabled is off); enable it with rmq group update` });
    const request: Receive = { ...received, settings, member: this.memberOf(settings, received.clientId) };
    if (received.clientId) this.clientSeen(received.clientId);
    if ((topic.perm & PERM_READ) === 0) throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} is not readable on this broker` });
    if (request.queueId !== undefined && (request.queueId < 0 || request.queueId >= topic.queueCount)) {
      throw new RmqError('BAD_REQUEST', { reason: `topic ${topic.name} has queues 0 to ${topic.queueCount - 1} on this broker, not queue ${request.queueId}` });
    }
    if (!request.push) this.checkSimpleInvisibleMs(request.invisibleMs);
    const queueIds = request.queueId !== undefined ? [request.queueId] : Array.from({ length: topic.queueCount }, (_, queueId) => queueId);
    const deadlineMs = this.options.clock.nowMs() + request.longPollingMs;
    // New messages wake one long poll of this group (or broadcast member) per queue (topic-wakeups.ts).
    const scope = { owner: `${request.group}\u0000${request.member ?? ''}`, queueId: request.queueId };
    // Set from a wake until a look used it up (took all it could): else it goes to the next waiter.
    let holdsWake = false;
    let wokenAtMs: number | undefined;
    let resumedAtMs: number | undefined;
    try {
      for (;;) {
        const wakesBefore = this.wakeups.count(request.topic);
        if (request.signal?.aborted) return [];
        const gathered = await this.receiveNow(request, queueIds);
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
          await this.giveBack(request, deliveries);
          return [];
        }
        // A look that left messages behind (a full batch) passes its wake on: another waiter takes them.
        if (!gathered.leftBehind && hasRoom(request, gathered)) holdsWake = false;
        const nowMs = this.options.clock.nowMs();
        if (deliveries.length > 0 || nowMs >= deadlineMs) return deliveries;
        // Something arrived (or was released) while we were looking: look again before sleeping.
        if (this.wakeups.count(request.topic) !== wakesBefore) continue;
        const wakeAtMs = Math.min(deadlineMs, this.nextVisibleAtMs(request, queueIds) ?? deadlineMs);
        await this.wakeups.wait(request.topic, Math.max(1, wakeAtMs - nowMs), request.signal, scope);
        holdsWake = true;
        if (latencyProbe.enabled) {
          wokenAtMs = this.wakeups.lastWakeAtMs.get(request.topic);
          resumedAtMs = performance.now();
        }
      }
    } finally {
      if (holdsWake) this.wakeups.wakeOne(request.topic, scope.owner, request.queueId);
    }
  }

  /** Acks a delivery; resolves once the ack is durable. */
  async ack(group: string, topic: string, receiptHandle: string, clientId?: string): Promise<void> {
    const errors = await this.ackAll(group, topic, [receiptHandle], clientId);
    if (errors) throw errors[0];
  }

  /**
   * Acks the deliveries of one AckMessage call (one group and topic), each on its own: resolves
   * once every ack made is durable, with undefined when all were made, else with each entry's
   * error (undefined where acked). The group's settings, the member and the queue's progress are
   * looked up once per call and per run of handles of one queue, not per handle, and the acks
   * share their journal record.
   */
  async ackAll(group: string, topic: string, receiptHandles: readonly string[], clientId?: string): Promise<unknown[] | undefined> {
    const count = receiptHandles.length;
    let errors: unknown[] | undefined;
    const fail = (index: number, error: unknown) => ((errors ??= new Array<unknown>(count).fill(undefined))[index] = error);
    // Journal writes the acks wait for (usually one record for all), and which one each entry waits for.
    const writes: Promise<void>[] = [];
    const writeOf = new Int32Array(count).fill(-1);
    let wakeFifo = false;
    try {
      const secret = this.options.secret();
      const settings = this.options.groups.settingsOf(group);
      const expectedMember = this.memberOf(settings, clientId);
      if (clientId) this.clientSeen(clientId);
      const fifo = settings.fifo && this.options.topics.get(topic)?.messageType === 'FIFO';
      const handle: ReceiptHandle = { group, topic, queueId: 0, queueOffset: 0, deliveryId: '', push: undefined, member: undefined };
      let key: ProgressKey | undefined;
      let state: QueueConsumption | undefined;
      for (let i = 0; i < count; i++) {
        try {
          verifyReceiptHandle(receiptHandles[i], secret, group, topic, handle);
          if (handle.member !== expectedMember) throw memberMismatch(group, expectedMember);
          // Acks come in runs of one queue: its progress is looked up once per run.
          if (key === undefined || state === undefined || key.q !== handle.queueId) {
            key = progressKey(group, topic, handle.queueId, expectedMember);
            state = this.options.progress.state(key, fifo);
          }
          const durable = this.options.progress.complete(key, state, handle.queueOffset, handle.deliveryId);
          if (!durable) throw staleHandle(state, handle.queueOffset);
          if (writes.length === 0 || writes[writes.length - 1] !== durable) {
            const at = writes.indexOf(durable);
            writeOf[i] = at >= 0 ? at : writes.push(durable) - 1;
          } else writeOf[i] = writes.length - 1;
          // FIFO: the next message of the group may be due now.
          if (state.fifo) wakeFifo = true;
        } catch (error) {
          fail(i, error);
        }
      }
    } catch (error) {
      // The call as a whole was refused (a broadcast group without a client id): every entry says why.
      for (let i = 0; i < count; i++) fail(i, error);
    }
    if (wakeFifo) this.wakeups.wake(topic);
    if (writes.length === 1) {
      try {
        await writes[0];
      } catch (error) {
        for (let i = 0; i < count; i++) if (writeOf[i] === 0) fail(i, error);
      }
    } else if (writes.length > 1) {
      const settled = await Promise.allSettled(writes);
      for (let i = 0; i < count; i++) {
        const result = writeOf[i] >= 0 ? settled[writeOf[i]] : undefined;
        if (result?.status === 'rejected') fail(i, result.reason);
      }
    }
    return errors;
  }

  /**
   * Makes a received message invisible for `invisibleMs` from now; returns its new handle. For a
   * push consumer's delivery this is its nack: the message comes back after the group's retry
   * delay for this attempt (or `invisibleMs` if longer), and after the last attempt it goes to the
   * dead-letter topic at once instead.
   */
  async changeInvisibleDuration(group: string, topic: string, receiptHandle: string, invisibleMs: number, clientId?: string): Promise<string> {
    checkInvisibleMs(invisibleMs);
    const handle = this.decode(group, topic, receiptHandle, clientId);
    if (!handle.push) this.checkSimpleInvisibleMs(invisibleMs);
    const key = progressKey(group, topic, handle.queueId, handle.member);
    const state = this.state(key);
    const current = state.current(handle.queueOffset);
    if (!current || current.deliveryId !== handle.deliveryId) throw staleHandle(state, handle.queueOffset);
    const settings = this.options.groups.settingsOf(group);
    const nowMs = this.options.clock.nowMs();
    const lastAttempt = current.attempt >= settings.maxAttempts;
    const delayMs = !handle.push ? invisibleMs : lastAttempt ? 0 : retryPolicyDelayMs(settings.retry, current.attempt, invisibleMs);
    const deliveryId = this.nextDeliveryId();
    const visibleAtMs = nowMs + delayMs;
    const durable = this.options.progress.renew(key, state, handle.queueOffset, handle.deliveryId, { deliveryId, visibleAtMs, attempt: current.attempt });
    // Visible sooner than before: long polls sleeping until the old deadline must look again.
    if (visibleAtMs < current.visibleAtMs) this.wakeups.wake(topic);
    await durable;
    return encodeReceiptHandle({ ...handle, deliveryId }, this.options.secret());
  }

  /** Moves a received message to the group's dead-letter topic now (FIFO consumers give up this way). */
  async forwardToDeadLetter(group: string, topic: string, receiptHandle: string, clientId?: string): Promise<void> {
    const handle = this.decode(group, topic, receiptHandle, clientId);
    const key = progressKey(group, topic, handle.queueId, handle.member);
    const state = this.state(key);
    const current = state.current(handle.queueOffset);
    if (!current || current.deliveryId !== handle.deliveryId) throw staleHandle(state, handle.queueOffset);
    const nowMs = this.options.clock.nowMs();
    const deliveryId = this.nextDeliveryId();
    const claimed = this.options.progress.renew(key, state, handle.queueOffset, handle.deliveryId, { deliveryId, visibleAtMs: nowMs + DEAD_LETTER_RETRY_MS, attempt: current.attempt });
    const [record] = (await this.options.store.read(topic, handle.queueId, handle.queueOffset, { countMax: 1 })).records;
    // Deleted by retention while in flight: nothing left to move.
    if (!record) await this.options.progress.complete(key, state, handle.queueOffset, deliveryId);
    else await this.completeAsDeadLetter(key, state, handle.queueOffset, deliveryId, record);
    await claimed;
  }

  /** The client made a request: it is alive, and its deliveries keep being renewed. */
  clientSeen(clientId: string): void {
    this.renewals.clientSeen(clientId, this.options.clock.nowMs());
  }

  /** The client said goodbye: its deliveries are no longer renewed and come back after their invisible time. */
  clientGone(clientId: string): void {
    this.renewals.clientGone(clientId);
  }

  /** Deliveries renewed server-side now. */
  get renewalCount(): number {
    return this.renewals.count;
  }

  /** Deadlines pushed back by server-side renewal so far. */
  get renewedTotal(): number {
    return this.renewedCount;
  }

  /** Broadcast members followed now. */
  get broadcastMemberCount(): number {
    return this.options.progress.broadcast.memberCount;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.unsubscribe();
    this.wakeups.wakeAll();
  }

  private async receiveNow(request: Receive, queueIds: readonly number[]): Promise<Gathered> {
    const startedMs = latencyProbe.enabled ? performance.now() : 0;
    const out: Gathered = { deliveries: [], sizeBytes: 0 };
    const writes: Writes = [];
    const first = this.rotation++ % queueIds.length;
    const queues = queueIds.map((_, i) => {
      const key = progressKey(request.group, request.topic, queueIds[(first + i) % queueIds.length], request.member);
      return { key, state: this.state(key, request.settings) };
    });
    // Redeliveries first (usually none are due: no await then), queue by queue.
    for (const { key, state } of queues) {
      if (!hasRoom(request, out)) break;
      await this.redeliverDue(request, key, state, out, writes);
    }
    // New messages from every queue at once, each asked for a fair share of what is left; the
    // queues that had more are asked again. One round of reads per receive, not one per queue
    // after another (each a lock, a store read and, on a busy machine, a wait for the CPU).
    let asked = queues;
    for (let pass = 0; asked.length > 0 && hasRoom(request, out) && pass < NEW_MESSAGE_PASSES_MAX; pass++) {
      const share = { count: Math.ceil((request.countMax - out.deliveries.length) / asked.length), sizeBytes: Math.max(1, Math.floor(bytesLeft(out) / asked.length)) };
      const more = await Promise.all(asked.map(({ key, state }) => this.deliverNew(request, key, state, out, writes, share)));
      asked = asked.filter((_, index) => more[index]);
    }
    // The deliveries reach the OS before anyone sees them: after a crash of the broker they stay
    // invisible until their deadline (after a crash of the machine they may be delivered again).
    await Promise.all(writes);
    if (latencyProbe.enabled) {
      for (const { record } of out.deliveries) {
        latencyProbe.mark(record.logOffset, 'lookStarted', startedMs);
        latencyProbe.mark(record.logOffset, 'deliveryWritten');
      }
    }
    return out;
  }

  /**
   * Hands out again the messages whose invisible time is over. Each is claimed (given a new
   * delivery id) before anything is awaited, so a concurrent receive, ack or sweep never sees it
   * half-done; one past its last attempt goes to the dead-letter topic instead.
   */
  private async redeliverDue(request: Receive, key: ProgressKey, state: QueueConsumption, out: Gathered, writes: Writes): Promise<void> {
    const queueId = key.q;
    // In FIFO mode a message that is done (dead-lettered, deleted) releases the next of its group:
    // look again, a bounded number of times, so it goes out in this same receive.
    for (let pass = 0; pass < REDELIVERY_PASSES_MAX && out.deliveries.length < request.countMax; pass++) {
      let settled = 0;
      // One claim at a time, each before its read is awaited, so the receive's byte budget holds:
      // what is not claimed when the budget runs out stays due for the next receive.
      for (const { queueOffset } of state.due(this.options.clock.nowMs(), request.countMax - out.deliveries.length)) {
        if (bytesLeft(out) <= 0 || request.signal?.aborted) return;
        const nowMs = this.options.clock.nowMs();
        const entry = state.current(queueOffset);
        if (!entry || entry.visibleAtMs > nowMs) continue; // claimed or settled while we read
        const claim = this.claim(key, state, queueOffset, entry, nowMs, request.invisibleMs, request.settings.maxAttempts, writes);
        const [record] = (await this.options.store.read(request.topic, queueId, claim.queueOffset, { countMax: 1 })).records;
        if (!record) {
          // Deleted by retention while in flight: nothing left to deliver.
          const done = this.options.progress.complete(key, state, claim.queueOffset, claim.deliveryId);
          if (done) addWrite(writes, done);
          settled++;
        } else if (claim.deadLetter) {
          await this.completeAsDeadLetter(key, state, claim.queueOffset, claim.deliveryId, record);
          settled++;
        } else {
          gather(out, this.delivery(request, queueId, record, claim.deliveryId, claim.attempt));
        }
      }
      if (settled === 0 || !state.fifo) return;
    }
  }

  /**
   * Moves messages past their last attempt to the dead-letter topic even when no consumer polls,
   * and forgets broadcast members that went away.
   */
  private async sweep(): Promise<void> {
    if (!this.options.progress.writable) return; // a slave: its master sweeps, and the results are copied
    const nowMs = this.options.clock.nowMs();
    this.options.progress.expireMembers(nowMs);
    this.renew(nowMs);
    for (const { key, state } of [...this.options.progress.allStates()]) await this.sweepQueue(key, state, nowMs);
  }

  /** Pushes back the deadline of push consumers' deliveries that are still being worked on. */
  private renew(nowMs: number): void {
    const stateOf = (r: { group: string; member?: string; topic: string; queueId: number }) => this.options.progress.peek(progressKey(r.group, r.topic, r.queueId, r.member));
    const due = this.renewals.due(nowMs, (renewal) => {
      const entry = stateOf(renewal)?.current(renewal.queueOffset);
      return entry && entry.deliveryId === renewal.deliveryId ? entry.visibleAtMs : undefined;
    });
    for (const { renewal, visibleAtMs } of due) {
      const key = progressKey(renewal.group, renewal.topic, renewal.queueId, renewal.member);
      const state = this.options.progress.peek(key);
      if (state && this.options.progress.extend(key, state, renewal.queueOffset, renewal.deliveryId, visibleAtMs)) this.renewedCount++;
    }
  }

  private async sweepQueue(key: ProgressKey, state: QueueConsumption, nowMs: number): Promise<void> {
    const maxAttempts = this.options.groups.settingsOf(key.g).maxAttempts;
    const writes: Writes = [];
    const claims = state
      .due(nowMs, MESSAGING_LIMITS.receiveBatchCountMax)
      .filter(({ entry }) => entry.attempt >= maxAttempts)
      .map(({ queueOffset, entry }) => this.claim(key, state, queueOffset, entry, nowMs, 0, maxAttempts, writes));
    for (const claim of claims) {
      const [record] = (await this.options.store.read(key.t, key.q, claim.queueOffset, { countMax: 1 })).records;
      if (record) await this.completeAsDeadLetter(key, state, claim.queueOffset, claim.deliveryId, record);
      else {
        const done = this.options.progress.complete(key, state, claim.queueOffset, claim.deliveryId);
        if (done) addWrite(writes, done);
      }
    }
    await Promise.all(writes);
  }

  private claim(key: ProgressKey, state: QueueConsumption, queueOffset: number, entry: InflightEntry, nowMs: number, invisibleMs: number, maxAttempts: number, writes: Writes) {
    const deliveryId = this.nextDeliveryId();
    const attempt = entry.attempt + 1;
    const deadLetter = attempt > maxAttempts;
    // A dead-letter claim holds the message back for a while; if the move fails it is retried then.
    const visibleAtMs = nowMs + (deadLetter ? DEAD_LETTER_RETRY_MS : invisibleMs);
    addWrite(writes, this.options.progress.deliver(key, state, queueOffset, { deliveryId, visibleAtMs, attempt: deadLetter ? entry.attempt : attempt }));
    return { queueOffset, deliveryId, attempt, deadLetter };
  }

  private async completeAsDeadLetter(key: ProgressKey, state: QueueConsumption, queueOffset: number, deliveryId: string, record: StoredRecord): Promise<void> {
    await this.deadLetter(key.g, record);
    const done = this.options.progress.complete(key, state, queueOffset, deliveryId);
    if (state.fifo) this.wakeups.wake(record.topic);
    await done;
  }

  /**
   * Delivers new messages of one queue, at most `share` of them; true when the queue may have
   * more (it filled its share), so that the receive asks it again.
   */
  private async deliverNew(request: Receive, key: ProgressKey, state: QueueConsumption, out: Gathered, writes: Writes, share: { count: number; sizeBytes: number }): Promise<boolean> {
    const queueId = key.q;
    let more = false;
    // One reader of new messages per queue at a time: two would read the same offsets.
    await this.withQueueLock(`${request.group}\u0000${request.member ?? ''}\u0000${request.topic}\u0000${queueId}`, async () => {
      const room = Math.min(share.count, request.countMax - out.deliveries.length, MESSAGING_LIMITS.inflightPerQueueMax - state.inflightCount);
      if (room <= 0 || !hasRoom(request, out) || request.signal?.aborted) return;
      const { minQueueOffset } = this.options.store.queueRange(request.topic, queueId);
      if (state.nextOffset < minQueueOffset) this.options.onRetentionSkipped?.(request.group, request.topic, queueId, minQueueOffset - state.nextOffset);
      const { records, nextQueueOffset } = await this.options.store.read(request.topic, queueId, state.nextOffset, {
        countMax: room,
        sizeBytesMax: Math.min(share.sizeBytes, bytesLeft(out)),
        acceptTagHash: request.filter.acceptsAll ? undefined : (hash) => request.filter.acceptTagHash(hash),
      });
      const nowMs = this.options.clock.nowMs();
      for (const record of records) {
        // Other queues of this receive gathered meanwhile: what does not fit is left for the next receive.
        if (!hasRoom(request, out)) return;
        if (!request.filter.acceptsAll && !request.filter.accept(record.properties.get(SYSTEM_PROPERTY.tag), userPropertiesOf(record.properties))) continue;
        const skipped = this.options.progress.skipTo(key, state, record.queueOffset);
        if (skipped) addWrite(writes, skipped);
        const deliveryId = this.nextDeliveryId();
        const entry = { deliveryId, visibleAtMs: nowMs + request.invisibleMs, attempt: 1 };
        // FIFO: held (not handed out) while an earlier message of its message group is not done.
        const admitted = this.options.progress.admit(key, state, record.queueOffset, record.properties.get(SYSTEM_PROPERTY.messageGroup), entry);
        addWrite(writes, admitted.written);
        if (admitted.delivered) gather(out, this.delivery(request, queueId, record, deliveryId, 1));
        if (latencyProbe.enabled) latencyProbe.mark(record.logOffset, 'claimed');
      }
      const skipped = this.options.progress.skipTo(key, state, nextQueueOffset);
      if (skipped) addWrite(writes, skipped);
      more = records.length >= room;
    });
    // Read up to where this receive stopped (its share, its batch, a scan limit): what is past it waits for another.
    if (state.nextOffset < this.options.store.queueRange(request.topic, queueId).maxQueueOffset) out.leftBehind = true;
    return more;
  }

  /**
   * Makes claimed deliveries visible again now, as if they had not been handed out: the attempt
   * goes back, a push delivery's renewal ends (its delivery id changes).
   */
  private async giveBack(request: Receive, deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const nowMs = this.options.clock.nowMs();
    const writes: Writes = [];
    for (const delivery of deliveries) {
      const handle = decodeReceiptHandle(delivery.receiptHandle, this.options.secret(), request.group, request.topic);
      const key = progressKey(request.group, request.topic, handle.queueId, request.member);
      const next = { deliveryId: this.nextDeliveryId(), visibleAtMs: nowMs, attempt: delivery.deliveryAttempt - 1 };
      const durable = this.options.progress.renew(key, this.state(key, request.settings), handle.queueOffset, handle.deliveryId, next);
      if (durable) addWrite(writes, durable);
    }
    this.wakeups.wake(request.topic);
    await Promise.all(writes);
  }

  private checkSimpleInvisibleMs(invisibleMs: number): void {
    const minMs = this.options.simpleInvisibleMsMin ?? MESSAGING_LIMITS.invisibleMsMin;
    if (invisibleMs < minMs) throw new RmqError('ILLEGAL_INVISIBLE_TIME', { durationMs: invisibleMs, minMs, maxMs: MESSAGING_LIMITS.invisibleMsMax });
  }

  private delivery(request: Receive, queueId: number, record: StoredRecord, deliveryId: string, attempt: number): Delivery {
    const handle = { group: request.group, topic: request.topic, queueId, queueOffset: record.queueOffset, deliveryId, push: request.push, member: request.member };
    if (request.push && request.clientId) {
      const renewUntilMs = this.options.clock.nowMs() + MESSAGING_LIMITS.autoRenewTotalMsMax;
      this.renewals.track({
        group: handle.group, member: handle.member, topic: handle.topic, queueId, queueOffset: handle.queueOffset, deliveryId,
        clientId: request.clientId, invisibleMs: request.invisibleMs, renewUntilMs,
      });
    }
    return { record, receiptHandle: encodeReceiptHandle(handle, this.options.secret()), deliveryAttempt: attempt, invisibleMs: request.invisibleMs };
  }

  private async withQueueLock(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.queueLocks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((resolve) => (release = resolve)));
    this.queueLocks.set(key, mine);
    await previous;
    try {
      await fn();
    } finally {
      release();
      if (this.queueLocks.get(key) === mine) this.queueLocks.delete(key);
    }
  }

  private async deadLetter(group: string, record: StoredRecord): Promise<void> {
    const dlqTopic = deadLetterTopicOf(group);
    // One made by hand (any queue count; always NORMAL) is used as it is.
    if (!this.options.topics.get(dlqTopic)) await this.options.topics.create(dlqTopic, { queueCount: 1 });
    const properties = new Map(record.properties);
    properties.set(SYSTEM_PROPERTY.dlqOriginTopic, record.topic);
    await this.options.store.append([{ ...record, topic: dlqTopic, queueId: 0, tagHash: tagHashOf(properties.get(SYSTEM_PROPERTY.tag)), properties }]);
    this.options.onDeadLetter?.(group, record);
  }

  /** A group's progress in a queue, or a broadcast member's (`key.m` set). */
  private state(key: ProgressKey, settings = this.options.groups.settingsOf(key.g)): QueueConsumption {
    // A FIFO topic is consumed in message-group order by groups that consume orderly.
    const fifo = settings.fifo && this.options.topics.get(key.t)?.messageType === 'FIFO';
    return this.options.progress.state(key, fifo);
  }

  /** The progress owner within a group: the client for a broadcast group, nobody otherwise. */
  private memberOf(settings: GroupConfig, clientId: string | undefined): string | undefined {
    if (settings.consumeType !== 'broadcast') return undefined;
    if (!clientId) throw new RmqError('BAD_REQUEST', { reason: `consumer group ${settings.name} is consumed in broadcast mode, which needs the client id (header x-mq-client-id)` });
    return clientId;
  }

  private nextVisibleAtMs(request: Receive, queueIds: readonly number[]): number | undefined {
    let earliest: number | undefined;
    for (const queueId of queueIds) {
      const at = this.options.progress.peek(progressKey(request.group, request.topic, queueId, request.member))?.nextVisibleAtMs();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  private decode(group: string, topic: string, receiptHandle: string, clientId?: string) {
    const handle = decodeReceiptHandle(receiptHandle, this.options.secret(), group, topic);
    if (clientId) this.clientSeen(clientId);
    const expected = this.memberOf(this.options.groups.settingsOf(group), clientId);
    if (handle.member !== expected) throw memberMismatch(group, expected);
    return handle;
  }

  private nextDeliveryId(): string {
    return `${this.runId}-${(this.deliverySequence++).toString(36)}`;
  }
}

/** What a receive gathered so far, and the bytes of its records (counted against MESSAGING_LIMITS.receiveBytesMax). */
interface Gathered {
  deliveries: Delivery[];
  sizeBytes: number;
  /** Some queue still had readable messages past where the group's progress stopped. */
  leftBehind?: boolean;
}

function gather(out: Gathered, delivery: Delivery): void {
  out.deliveries.push(delivery);
  out.sizeBytes += delivery.record.sizeBytes;
}

/** Bytes a receive may still gather. */
function bytesLeft(out: Gathered): number {
  return MESSAGING_LIMITS.receiveBytesMax - out.sizeBytes;
}

function hasRoom(request: Receive, out: Gathered): boolean {
  return out.deliveries.length < request.countMax && bytesLeft(out) > 0;
}

export function checkInvisibleMs(invisibleMs: number): void {
  if (!Number.isFinite(invisibleMs) || invisibleMs < MESSAGING_LIMITS.invisibleMsMin || invisibleMs > MESSAGING_LIMITS.invisibleMsMax) {
    throw new RmqError('ILLEGAL_INVISIBLE_TIME', { durationMs: invisibleMs, minMs: MESSAGING_LIMITS.invisibleMsMin, maxMs: MESSAGING_LIMITS.invisibleMsMax });
  }
}

function progressKey(group: string, topic: string, queueId: number, member: string | undefined): ProgressKey {
  return member === undefined ? { g: group, t: topic, q: queueId } : { g: group, t: topic, q: queueId, m: member };
}

/** A handle of a broadcast member given by another client, or of no member given in a broadcast group (or the reverse). */
function memberMismatch(group: string, expected: string | undefined): RmqError {
  const reason = expected === undefined ? `it was issued for broadcast consumption, and group ${group} is not consumed in broadcast mode` : `it was issued to another member of broadcast group ${group}`;
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
}

/** Why a handle's delivery is not the current one, as far as this broker can tell. */
function staleHandle(state: QueueConsumption, queueOffset: number): RmqError {
  if (!state.current(queueOffset) && queueOffset >= state.nextOffset) {
    // Receives answer once their delivery records are written, not durable (decisions.md).
    const reason = 'this broker has no record of that delivery: it was lost when the broker\'s machine crashed or its slave took over just after the receive; the message will be delivered again';
    return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
  }
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason: 'the message was acknowledged or delivered again since this handle was issued' });
}
