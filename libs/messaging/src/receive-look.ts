// One look of a receive: the due redeliveries of every queue first, then new messages from every
// queue at once, each queue's reader alone (QueueLocks); every delivery is journaled and gets its
// receipt handle, and the look resolves once its delivery records reached the OS.
import { latencyProbe } from '@rmq/base';
import type { StoredRecord } from '@rmq/store';
import { encodeReceiptHandle, decodeReceiptHandle, type ReceiptHandle } from './receipt-handle';
import type { ProgressKey } from './consumer-progress';
import type { QueueConsumption } from './queue-consumption';
import type { MessageFilter } from './message-filter';
import type { GroupConfig } from './group-registry';
import { MESSAGING_LIMITS } from './limits';
import { SYSTEM_PROPERTY, userPropertiesOf } from './message-properties';
import { addWrite, progressKey, type ConsumerContext, type Writes } from './consumer-context';
import type { DeadLetters } from './dead-letters';
import { QueueLocks } from './queue-locks';

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
export type Receive = ReceiveRequest & { member?: string; settings: GroupConfig };

export interface Delivery {
  record: StoredRecord;
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleMs: number;
}

/** What a receive gathered so far, and the bytes of its records (counted against MESSAGING_LIMITS.receiveBytesMax). */
export interface Gathered {
  deliveries: Delivery[];
  sizeBytes: number;
  /** Some queue still had readable messages past where the group's progress stopped. */
  leftBehind?: boolean;
}

/** Looks for due messages per queue and receive (FIFO: a settled message releases the next of its group). */
const REDELIVERY_PASSES_MAX = 4;
/** Rounds of new-message reads per receive: queues not asked yet, then those that filled their share, are asked for what is left. */
const NEW_MESSAGE_PASSES_MAX = 4;
/**
 * The least share of a receive's batch a queue is asked for while other queues are left for a
 * later pass: each queue asked costs a lock, a read and a journal record whatever it gives.
 */
const QUEUE_SHARE_MIN = 16;
/** Groups, and topics (or topic and member) per group, whose receives' start queue is remembered. */
const ROTATIONS_MAX = 10_000;

export class ReceiveLook {
  /**
   * Where the next receive of each group (broadcast: member) and topic starts among the queues:
   * its own, so one group's receives do not move another's start. Only a hint: forgotten when
   * there are more than ROTATIONS_MAX groups.
   */
  private readonly rotations = new Map<string, Map<string, number>>();
  private readonly queueLocks = new QueueLocks();
  /** What a handle is minted from, reused (minting is synchronous). */
  private readonly handle: ReceiptHandle = { group: '', topic: '', queueId: 0, queueOffset: 0, deliveryId: '', push: undefined, member: undefined };

  constructor(
    private readonly context: ConsumerContext,
    private readonly deadLetters: DeadLetters,
  ) {}

  async look(request: Receive, queueIds: readonly number[]): Promise<Gathered> {
    const { options } = this.context;
    const startedMs = latencyProbe.enabled ? performance.now() : 0;
    const out: Gathered = { deliveries: [], sizeBytes: 0 };
    const writes: Writes = [];
    const first = this.rotate(request, queueIds.length);
    const queues = queueIds.map((_, i) => {
      const key = progressKey(request.group, request.topic, queueIds[(first + i) % queueIds.length], request.member);
      return { key, state: this.context.state(key, request.settings) };
    });
    // Redeliveries first (usually none are due: no call, no await then), queue by queue.
    for (const { key, state } of queues) {
      if (!hasRoom(request, out)) break;
      if (state.hasDue(options.clock.nowMs())) await this.redeliverDue(request, key, state, out, writes);
    }
    // New messages from the queues at once, each asked for a fair share of what is left, in
    // passes: one round of reads per pass, not one queue after another (each a lock, a store read
    // and, on a busy machine, a wait for the CPU). A small batch asks only as many queues as it
    // needs at QUEUE_SHARE_MIN messages each (a simple consumer's 32 asks two of eight, starting
    // where the last receive did not), the queues not asked yet come next, then those that had
    // more than their share; the last pass asks every queue left, so no queue with messages is
    // passed over. A queue with nothing past the group's progress is not asked (no lock, no
    // read): what a concurrent receive reads meanwhile is not this one's anyway.
    let candidates = queues.filter(({ key, state }) => state.nextOffset < options.store.queueRange(request.topic, key.q).maxQueueOffset);
    for (let pass = 0; candidates.length > 0 && hasRoom(request, out) && pass < NEW_MESSAGE_PASSES_MAX; pass++) {
      const left = request.countMax - out.deliveries.length;
      const askedCount = pass === NEW_MESSAGE_PASSES_MAX - 1 ? candidates.length : Math.min(candidates.length, Math.ceil(left / QUEUE_SHARE_MIN));
      const asked = candidates.slice(0, askedCount);
      const share = { count: Math.ceil(left / askedCount), sizeBytes: Math.max(1, Math.floor(bytesLeft(out) / askedCount)) };
      const more = await Promise.all(asked.map(({ key, state }) => this.deliverNew(request, key, state, out, writes, share)));
      candidates = candidates.slice(askedCount).concat(asked.filter((_, index) => more[index]));
    }
    // Queues not asked (the batch was full) still hold messages: another waiter may take them.
    if (candidates.length > 0) out.leftBehind = true;
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
   * The index of the queue this receive starts at. The next receive of its group and topic starts
   * past the queues this one is expected to ask (see QUEUE_SHARE_MIN below); one that asks them
   * all still starts elsewhere (at most length - 1 on).
   */
  private rotate(request: Receive, queueCount: number): number {
    let topics = this.rotations.get(request.group);
    if (topics === undefined) {
      if (this.rotations.size >= ROTATIONS_MAX) this.rotations.clear();
      this.rotations.set(request.group, (topics = new Map()));
    }
    const scope = request.member === undefined ? request.topic : `${request.topic}\u0000${request.member}`;
    if (topics.size >= ROTATIONS_MAX && !topics.has(scope)) topics.clear();
    const rotation = topics.get(scope) ?? 0;
    topics.set(scope, (rotation + Math.max(1, Math.min(queueCount - 1, Math.ceil(request.countMax / QUEUE_SHARE_MIN)))) % queueCount);
    return rotation % queueCount;
  }

  /**
   * Makes claimed deliveries visible again now, as if they had not been handed out: the attempt
   * goes back, a push delivery's renewal ends (its delivery id changes).
   */
  async giveBack(request: Receive, deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const { options } = this.context;
    const nowMs = options.clock.nowMs();
    const writes: Writes = [];
    for (const delivery of deliveries) {
      const handle = decodeReceiptHandle(delivery.receiptHandle, options.secret(), request.group, request.topic);
      const key = progressKey(request.group, request.topic, handle.queueId, request.member);
      const next = { deliveryId: this.context.nextDeliveryId(), visibleAtMs: nowMs, attempt: delivery.deliveryAttempt - 1 };
      const durable = options.progress.renew(key, this.context.state(key, request.settings), handle.queueOffset, handle.deliveryId, next);
      if (durable) addWrite(writes, durable);
    }
    this.context.wakeups.wake(request.topic);
    await Promise.all(writes);
  }

  /** The earliest time an in-flight message of these queues becomes visible again. */
  nextVisibleAtMs(request: Receive, queueIds: readonly number[]): number | undefined {
    let earliest: number | undefined;
    for (const queueId of queueIds) {
      const at = this.context.options.progress.peek(progressKey(request.group, request.topic, queueId, request.member))?.nextVisibleAtMs();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /**
   * Hands out again the messages whose invisible time is over. Each is claimed (given a new
   * delivery id) before anything is awaited, so a concurrent receive, ack or sweep never sees it
   * half-done; one past its last attempt goes to the dead-letter topic instead.
   */
  private async redeliverDue(request: Receive, key: ProgressKey, state: QueueConsumption, out: Gathered, writes: Writes): Promise<void> {
    const { options } = this.context;
    const queueId = key.q;
    // In FIFO mode a message that is done (dead-lettered, deleted) releases the next of its group:
    // look again, a bounded number of times, so it goes out in this same receive.
    for (let pass = 0; pass < REDELIVERY_PASSES_MAX && out.deliveries.length < request.countMax; pass++) {
      let settled = 0;
      // One claim at a time, each before its read is awaited, so the receive's byte budget holds:
      // what is not claimed when the budget runs out stays due for the next receive.
      for (const { queueOffset } of state.due(options.clock.nowMs(), request.countMax - out.deliveries.length)) {
        if (bytesLeft(out) <= 0 || request.signal?.aborted) return;
        const nowMs = options.clock.nowMs();
        const entry = state.current(queueOffset);
        if (!entry || entry.visibleAtMs > nowMs) continue; // claimed or settled while we read
        const claim = this.deadLetters.claim(key, state, queueOffset, entry, nowMs, request.invisibleMs, request.settings.maxAttempts, writes);
        const [record] = (await options.store.read(request.topic, queueId, claim.queueOffset, { countMax: 1 })).records;
        if (!record) {
          // Deleted by retention while in flight: nothing left to deliver.
          const done = options.progress.complete(key, state, claim.queueOffset, claim.deliveryId);
          if (done) addWrite(writes, done);
          settled++;
        } else if (claim.deadLetter) {
          await this.deadLetters.complete(key, state, claim.queueOffset, claim.deliveryId, record);
          settled++;
        } else {
          const receiptHandle = this.mint(request, queueId, claim.queueOffset, claim.deliveryId);
          state.keepReceiptHandle(claim.queueOffset, claim.deliveryId, receiptHandle);
          gather(out, this.delivery(request, queueId, record, claim.deliveryId, claim.attempt, receiptHandle));
        }
      }
      if (settled === 0 || !state.fifo) return;
    }
  }

  /**
   * Delivers new messages of one queue, at most `share` of them; true when the queue may have
   * more (it filled its share), so that the receive asks it again.
   */
  private async deliverNew(request: Receive, key: ProgressKey, state: QueueConsumption, out: Gathered, writes: Writes, share: { count: number; sizeBytes: number }): Promise<boolean> {
    const { options } = this.context;
    const queueId = key.q;
    let more = false;
    // One reader of new messages per queue at a time: two would read the same offsets.
    await this.queueLocks.with(`${request.group}\u0000${request.member ?? ''}\u0000${request.topic}\u0000${queueId}`, async () => {
      const room = Math.min(share.count, request.countMax - out.deliveries.length, MESSAGING_LIMITS.inflightPerQueueMax - state.inflightCount);
      if (room <= 0 || !hasRoom(request, out) || request.signal?.aborted) return;
      const { minQueueOffset } = options.store.queueRange(request.topic, queueId);
      if (state.nextOffset < minQueueOffset) options.onRetentionSkipped?.(request.group, request.topic, queueId, minQueueOffset - state.nextOffset);
      const { records, nextQueueOffset } = await options.store.read(request.topic, queueId, state.nextOffset, {
        countMax: room,
        sizeBytesMax: Math.min(share.sizeBytes, bytesLeft(out)),
        acceptTagHash: request.filter.acceptsAll ? undefined : (hash) => request.filter.acceptTagHash(hash),
      });
      const nowMs = options.clock.nowMs();
      for (const record of records) {
        // Other queues of this receive gathered meanwhile: what does not fit is left for the next receive.
        if (!hasRoom(request, out)) return;
        if (!request.filter.acceptsAll && !request.filter.accept(record.property(SYSTEM_PROPERTY.tag), userPropertiesOf(record))) continue;
        const queueOffset = record.queueOffset; // read from the record's bytes: once
        const skipped = options.progress.skipTo(key, state, queueOffset);
        if (skipped) addWrite(writes, skipped);
        const deliveryId = this.context.nextDeliveryId();
        // Minted before the admit, so the in-flight entry keeps it (an ack presenting it needs no tag check).
        const receiptHandle = this.mint(request, queueId, queueOffset, deliveryId);
        const entry = { deliveryId, visibleAtMs: nowMs + request.invisibleMs, attempt: 1, receiptHandle };
        // FIFO: held (not handed out) while an earlier message of its message group is not done.
        const admitted = options.progress.admit(key, state, queueOffset, state.fifo ? record.property(SYSTEM_PROPERTY.messageGroup) : undefined, entry);
        addWrite(writes, admitted.written);
        if (admitted.delivered) gather(out, this.delivery(request, queueId, record, deliveryId, 1, receiptHandle));
        if (latencyProbe.enabled) latencyProbe.mark(record.logOffset, 'claimed');
      }
      const skipped = options.progress.skipTo(key, state, nextQueueOffset);
      if (skipped) addWrite(writes, skipped);
      more = records.length >= room;
    });
    // Read up to where this receive stopped (its share, its batch, a scan limit): what is past it waits for another.
    if (state.nextOffset < options.store.queueRange(request.topic, queueId).maxQueueOffset) out.leftBehind = true;
    return more;
  }

  /** The handle of a delivery (not yet tracked or handed out: a FIFO message may be held instead). */
  private mint(request: Receive, queueId: number, queueOffset: number, deliveryId: string): string {
    const handle = this.handle;
    handle.group = request.group;
    handle.topic = request.topic;
    handle.queueId = queueId;
    handle.queueOffset = queueOffset;
    handle.deliveryId = deliveryId;
    handle.push = request.push;
    handle.member = request.member;
    return encodeReceiptHandle(handle, this.context.options.secret());
  }

  private delivery(request: Receive, queueId: number, record: StoredRecord, deliveryId: string, attempt: number, receiptHandle: string): Delivery {
    const { options } = this.context;
    if (request.push && request.clientId) {
      const renewUntilMs = options.clock.nowMs() + MESSAGING_LIMITS.autoRenewTotalMsMax;
      this.context.renewals.track({
        group: request.group, member: request.member, topic: request.topic, queueId, queueOffset: record.queueOffset, deliveryId,
        clientId: request.clientId, invisibleMs: request.invisibleMs, renewUntilMs,
      });
    }
    return { record, receiptHandle, deliveryAttempt: attempt, invisibleMs: request.invisibleMs };
  }
}

function gather(out: Gathered, delivery: Delivery): void {
  out.deliveries.push(delivery);
  out.sizeBytes += delivery.record.sizeBytes;
}

/** Bytes a receive may still gather. */
function bytesLeft(out: Gathered): number {
  return MESSAGING_LIMITS.receiveBytesMax - out.sizeBytes;
}

export function hasRoom(request: Receive, out: Gathered): boolean {
  return out.deliveries.length < request.countMax && bytesLeft(out) > 0;
}
