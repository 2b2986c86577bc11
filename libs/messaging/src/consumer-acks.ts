// What a consumer does with a receipt handle: ack (AckMessage, many at once), change the invisible
// duration (a push consumer's nack), or move the message to the dead-letter topic. Each handle is
// checked (compared with the handle kept for its delivery when presented as minted, else by its
// tag; the group, topic and broadcast member, the delivery still current) the same way by all
// three, and each change is journaled; the answer waits until it is durable.
import { decodeReceiptHandle, encodeReceiptHandle, keptReceiptHandle, receiptHandlePosition, sameReceiptHandle, verifyReceiptHandle, type ReceiptHandle } from './receipt-handle';
import type { ProgressKey } from './consumer-progress';
import type { QueueConsumption } from './queue-consumption';
import { retryPolicyDelayMs } from './retry-policy';
import { MESSAGING_LIMITS } from './limits';
import { progressKey, type ConsumerContext } from './consumer-context';
import type { GroupConfig } from './group-registry';
import { checkInvisibleMs, memberMismatch, staleHandle } from './consumer-errors';
import { DEAD_LETTER_RETRY_MS, type DeadLetters } from './dead-letters';

/** Queue ids below this have their progress remembered for the rest of an ack call (topics have at most a few hundred queues). */
const QUEUES_CACHED_MAX = 1024;

export class ConsumerAcks {
  constructor(
    private readonly context: ConsumerContext,
    private readonly deadLetters: DeadLetters,
  ) {}

  /**
   * Acks the deliveries of one AckMessage call (one group and topic), each on its own: resolves
   * once every ack made is durable, with undefined when all were made, else with each entry's
   * error (undefined where acked). The group's settings, the member and each queue's progress are
   * looked up once per call, not per handle, and the acks share their journal record.
   */
  async ackAll(group: string, topic: string, receiptHandles: readonly string[], clientId?: string): Promise<unknown[] | undefined> {
    const { options } = this.context;
    const count = receiptHandles.length;
    let errors: unknown[] | undefined;
    const fail = (index: number, error: unknown) => ((errors ??= new Array<unknown>(count).fill(undefined))[index] = error);
    // Journal writes the acks wait for (usually one record for all), and which one each entry waits for.
    const writes: Promise<void>[] = [];
    const writeOf = new Int32Array(count).fill(-1);
    let wakeFifo = false;
    try {
      const secret = options.secret();
      const settings = options.groups.settingsOf(group);
      const expectedMember = this.context.memberOf(settings, clientId);
      if (clientId) this.context.clientSeen(clientId);
      const fifo = settings.fifo && options.topics.get(topic)?.messageType === 'FIFO';
      const handle: ReceiptHandle = { group, topic, queueId: 0, queueOffset: 0, deliveryId: '', push: undefined, member: undefined };
      // Each queue's progress is looked up once per call (a client's batch mixes the queues of its
      // receives), by queue id; `make`: made if missing (only for a handle whose tag was checked:
      // one not yet checked may name any queue).
      const queues: ({ key: ProgressKey; state: QueueConsumption } | undefined)[] = [];
      const progressOf = (queueId: number, make: boolean): { key: ProgressKey; state: QueueConsumption } | undefined => {
        const cached = queueId < QUEUES_CACHED_MAX ? queues[queueId] : undefined;
        if (cached !== undefined) return cached;
        const key = progressKey(group, topic, queueId, expectedMember);
        if (!make && options.progress.peek(key) === undefined) return undefined;
        const found = { key, state: options.progress.state(key, fifo) };
        if (queueId < QUEUES_CACHED_MAX) queues[queueId] = found;
        return found;
      };
      for (let i = 0; i < count; i++) {
        try {
          const text = receiptHandles[i];
          // A handle this process minted for a delivery still current, presented as minted, is
          // checked by comparing it with that delivery's handle (kept in its in-flight entry, whose
          // queue belongs to this group, topic and member): no tag to compute. Anything else is verified.
          let deliveryId: string | undefined;
          if (receiptHandlePosition(text, handle)) {
            const current = progressOf(handle.queueId, false)?.state.current(handle.queueOffset);
            if (current?.receiptHandle !== undefined && sameReceiptHandle(current.receiptHandle, text)) deliveryId = current.deliveryId;
          }
          if (deliveryId === undefined) {
            verifyReceiptHandle(text, secret, group, topic, handle);
            if (handle.member !== expectedMember) throw memberMismatch(group, expectedMember);
            deliveryId = handle.deliveryId;
          }
          const { key, state } = progressOf(handle.queueId, true)!;
          const durable = options.progress.complete(key, state, handle.queueOffset, deliveryId);
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
    if (wakeFifo) this.context.wakeups.wake(topic);
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
    const { options } = this.context;
    const handle = this.decode(group, topic, receiptHandle, clientId);
    checkInvisibleMs(invisibleMs, handle.push ? MESSAGING_LIMITS.invisibleMsMin : options.simpleInvisibleMsMin ?? MESSAGING_LIMITS.invisibleMsMin);
    const key = progressKey(group, topic, handle.queueId, handle.member);
    const state = this.context.state(key);
    const current = state.current(handle.queueOffset);
    if (!current || current.deliveryId !== handle.deliveryId) throw staleHandle(state, handle.queueOffset);
    const settings = options.groups.settingsOf(group);
    const nowMs = options.clock.nowMs();
    const lastAttempt = current.attempt >= settings.maxAttempts;
    const delayMs = !handle.push ? invisibleMs : lastAttempt ? 0 : retryPolicyDelayMs(settings.retry, current.attempt, invisibleMs);
    const deliveryId = this.context.nextDeliveryId();
    const visibleAtMs = nowMs + delayMs;
    const minted = encodeReceiptHandle({ ...handle, deliveryId }, options.secret());
    const durable = options.progress.renew(key, state, handle.queueOffset, handle.deliveryId, { deliveryId, visibleAtMs, attempt: current.attempt, receiptHandle: minted });
    // Visible sooner than before: long polls sleeping until the old deadline must look again.
    if (visibleAtMs < current.visibleAtMs) this.context.wakeups.wake(topic);
    await durable;
    return minted;
  }

  /** Moves a received message to the dead-letter topic now (FIFO consumers give up this way). */
  async forwardToDeadLetter(group: string, topic: string, receiptHandle: string, clientId?: string): Promise<void> {
    const { options } = this.context;
    const handle = this.decode(group, topic, receiptHandle, clientId);
    const key = progressKey(group, topic, handle.queueId, handle.member);
    const state = this.context.state(key);
    const current = state.current(handle.queueOffset);
    if (!current || current.deliveryId !== handle.deliveryId) throw staleHandle(state, handle.queueOffset);
    const nowMs = options.clock.nowMs();
    const deliveryId = this.context.nextDeliveryId();
    const claimed = options.progress.renew(key, state, handle.queueOffset, handle.deliveryId, { deliveryId, visibleAtMs: nowMs + DEAD_LETTER_RETRY_MS, attempt: current.attempt });
    const [record] = (await options.store.read(topic, handle.queueId, handle.queueOffset, { countMax: 1 })).records;
    // Deleted by retention while in flight: nothing left to move.
    if (!record) await options.progress.complete(key, state, handle.queueOffset, deliveryId);
    else await this.deadLetters.complete(key, state, handle.queueOffset, deliveryId, record);
    await claimed;
  }

  private decode(group: string, topic: string, receiptHandle: string, clientId?: string) {
    const { options } = this.context;
    const settings = options.groups.settingsOf(group);
    const handle = this.kept(group, topic, receiptHandle, settings, clientId) ?? decodeReceiptHandle(receiptHandle, options.secret(), group, topic);
    if (clientId) this.context.clientSeen(clientId);
    const expected = this.context.memberOf(settings, clientId);
    if (handle.member !== expected) throw memberMismatch(group, expected);
    return handle;
  }

  /**
   * A handle presented exactly as this process minted it for a delivery still current is taken
   * by comparison, as ackAll takes it: a changed secret then refuses neither the ack nor the
   * change of invisible duration of that handle (decisions.md, receipt handles). Else undefined.
   */
  private kept(group: string, topic: string, text: string, settings: GroupConfig, clientId: string | undefined): ReceiptHandle | undefined {
    const position = { queueId: 0, queueOffset: 0 };
    if (!receiptHandlePosition(text, position)) return undefined;
    let member: string | undefined;
    try {
      member = this.context.memberOf(settings, clientId);
    } catch {
      return undefined; // refused below, after the tag check, as before
    }
    const current = this.context.options.progress.peek(progressKey(group, topic, position.queueId, member))?.current(position.queueOffset);
    if (current?.receiptHandle === undefined || !sameReceiptHandle(current.receiptHandle, text)) return undefined;
    return keptReceiptHandle(text, group, topic, current.deliveryId, member);
  }
}
