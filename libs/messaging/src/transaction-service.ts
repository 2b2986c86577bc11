// Transactional messages: half messages stored invisible in %SYS%TRANS_HALF, ended by
// EndTransaction (COMMIT re-puts to the real topic, ROLLBACK discards), checked back with a
// live producer of the topic when left open, and rolled back as EXPIRED after the last check.
//   - Open transactions are kept in memory (bounded by transactionOpenMax) and rebuilt at start
//     from the log alone: halves from the last op's openLow, minus those some later op settled.
//   - An end claims its transaction before it appends, so two ends (a client and a check
//     answer) never both act; the loser is told the transaction has already ended.
//   - Only a check that reached a producer counts towards checksMax: one made while no producer
//     of the topic is connected (a restart, a reconnecting client) is tried again on the schedule,
//     and a transaction nobody can be asked about expires after as many attempts again.
import { RmqError, type Clock } from '@rmq/base';
import type { AppendInput, AppendResult, MessageStore } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import { fromStoredRecord, SYSTEM_PROPERTY, type IncomingMessage, type OutgoingMessage } from './message-properties';
import type { MessageStager } from './producer-service';
import { checkAgeMs, checksDueBy, orphanAttemptsMax, type CheckPolicy } from './transaction-checks';
import { decodeTransactionId, encodeTransactionId } from './transaction-id';
import { committedInput, halfInput, HALF_TOPIC, OP_TOPIC, opInput, TRANSACTION_PROPERTY, type TransactionOutcome } from './transaction-records';
import { realTopicOf } from './system-records';

export interface TransactionServiceOptions {
  store: MessageStore;
  queueCountOf: (topic: string) => number | undefined;
  clock: Clock;
  /** firstMs is the broker default, used when the producer gives no orphaned_transaction_recovery_duration. */
  policy: CheckPolicy;
  /** Sends a check to a live producer of the message's topic; false when none is connected. */
  checkBack: (message: IncomingMessage, transactionId: string) => boolean;
  onError: (error: unknown) => void;
  onEvent?: (topic: string, event: TransactionOutcome | 'CHECK') => void;
}

export interface OpenTransaction {
  transactionId: string;
  topic: string;
  messageId: string;
  halfQueueOffset: number;
  bornMs: number;
  checks: number;
}

interface OpenEntry extends OpenTransaction {
  logOffset: number;
  sizeBytes: number;
  firstCheckMs: number;
  /** Checks tried, reached a producer or not: the next one is due at checkAgeMs(attempts). */
  attempts: number;
  /** Where the check schedule's ages count from: the half's birth, or later after a restart. */
  scheduleOriginMs: number;
  ending: boolean;
}

export interface TransactionStats {
  open: number;
  checks: number;
  committed: number;
  rolledBack: number;
  expired: number;
}

export class TransactionService {
  private readonly open = new Map<number, OpenEntry>();
  private readonly counts = { checks: 0, committed: 0, rolledBack: 0, expired: 0 };
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;
  /** Every half below this is in `open` or settled (a half confirmed but not yet receipted is not). */
  private knownHalfEnd = 0;

  private constructor(private readonly options: TransactionServiceOptions) {
    this.timer = setInterval(() => void this.sweep(), MESSAGING_LIMITS.transactionSweepMs);
  }

  static async open(options: TransactionServiceOptions): Promise<TransactionService> {
    const service = new TransactionService(options);
    await service.recover();
    return service;
  }

  /** How ProducerService stores TRANSACTION messages: as invisible halves, answered with a transaction id. */
  stager(): MessageStager {
    return {
      stage: (message) => this.halfOf(message),
      receipt: (message, result) => ({ transactionId: this.opened(message, result) }),
    };
  }

  async end(topic: string, messageId: string, transactionId: string, resolution: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    const ref = decodeTransactionId(transactionId);
    if (ref.topic !== topic) throw new RmqError('INVALID_TRANSACTION_ID', { reason: `it belongs to topic ${ref.topic}, not ${topic}` });
    if (ref.messageId !== messageId) throw new RmqError('INVALID_TRANSACTION_ID', { reason: `it belongs to message ${ref.messageId}, not ${messageId}` });
    const entry = this.open.get(ref.halfQueueOffset);
    if (!entry || entry.ending) {
      const { maxQueueOffset } = this.options.store.queueRange(HALF_TOPIC, 0);
      if (ref.halfQueueOffset >= maxQueueOffset) throw new RmqError('INVALID_TRANSACTION_ID', { reason: 'no such half message on this broker' });
      throw new RmqError('TRANSACTION_ENDED', { transactionId, messageId, outcome: entry ? 'it is being ended now' : 'committed, rolled back or expired' });
    }
    await this.settle(entry, resolution);
  }

  list(topic?: string): OpenTransaction[] {
    const list: OpenTransaction[] = [];
    for (const entry of this.open.values()) {
      if (topic !== undefined && entry.topic !== topic) continue;
      list.push({ transactionId: entry.transactionId, topic: entry.topic, messageId: entry.messageId, halfQueueOffset: entry.halfQueueOffset, bornMs: entry.bornMs, checks: entry.checks });
      if (list.length >= MESSAGING_LIMITS.transactionListMax) break;
    }
    return list;
  }

  stats(): TransactionStats {
    return { open: this.open.size, ...this.counts };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private halfOf(message: OutgoingMessage): AppendInput {
    if (this.open.size >= MESSAGING_LIMITS.transactionOpenMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `${this.open.size} transactions are open on this broker, the limit; end some first` });
    }
    return halfInput(message);
  }

  private opened(message: OutgoingMessage, result: AppendResult): string {
    const transactionId = encodeTransactionId({ topic: message.topic, messageId: message.messageId, halfQueueOffset: result.queueOffset });
    this.knownHalfEnd = Math.max(this.knownHalfEnd, result.queueOffset + 1);
    this.open.set(result.queueOffset, {
      transactionId, topic: message.topic, messageId: message.messageId, halfQueueOffset: result.queueOffset, bornMs: result.storeTimestampMs, checks: 0,
      logOffset: result.logOffset, sizeBytes: 0, firstCheckMs: message.orphanedRecoveryMs || this.options.policy.firstMs,
      attempts: 0, scheduleOriginMs: result.storeTimestampMs, ending: false,
    });
    return transactionId;
  }

  private async settle(entry: OpenEntry, outcome: 'COMMIT' | TransactionOutcome): Promise<void> {
    entry.ending = true;
    try {
      const inputs: AppendInput[] = [];
      if (outcome === 'COMMIT') {
        const queueCount = this.options.queueCountOf(entry.topic);
        if (queueCount === undefined) throw new RmqError('TOPIC_NOT_FOUND', { topic: entry.topic });
        const { records } = await this.options.store.read(HALF_TOPIC, 0, entry.halfQueueOffset, { countMax: 1 });
        if (records[0]?.queueOffset !== entry.halfQueueOffset) throw new RmqError('NOT_FOUND', { what: 'half message', name: entry.messageId });
        inputs.push(committedInput(records[0], queueCount));
      }
      inputs.push(opInput(entry.halfQueueOffset, outcome, this.openLowWithout(entry.halfQueueOffset), this.options.clock.nowMs()));
      await this.options.store.append(inputs);
    } catch (error) {
      entry.ending = false;
      throw error;
    }
    this.open.delete(entry.halfQueueOffset);
    if (outcome === 'COMMIT') this.counts.committed++;
    else if (outcome === 'ROLLBACK') this.counts.rolledBack++;
    else this.counts.expired++;
    this.options.onEvent?.(entry.topic, outcome);
  }

  /** The lowest open half other than `halfQueueOffset` (the next half's offset when none is open). */
  private openLowWithout(halfQueueOffset: number): number {
    let low = this.knownHalfEnd;
    for (const key of this.open.keys()) if (key !== halfQueueOffset && key < low) low = key;
    return low;
  }

  /** Checks back transactions that are due and expires those past their last check. */
  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const nowMs = this.options.clock.nowMs();
      for (const entry of [...this.open.values()]) {
        if (entry.ending) continue;
        const policy = { ...this.options.policy, firstMs: entry.firstCheckMs };
        const attemptsMax = orphanAttemptsMax(policy);
        const ageMs = nowMs - entry.scheduleOriginMs;
        const nextDueMs = checkAgeMs(entry.attempts, policy);
        // One interval after the last check, as after a check nobody answered.
        if ((entry.checks >= policy.checksMax || entry.attempts >= attemptsMax) && ageMs >= nextDueMs) {
          await this.settle(entry, 'EXPIRED').catch(this.options.onError);
          continue;
        }
        if (ageMs < nextDueMs || entry.attempts >= attemptsMax) continue;
        entry.attempts++; // one check per sweep: missed ones are not made up for at once
        const half = await this.options.store.read(HALF_TOPIC, 0, entry.halfQueueOffset, { countMax: 1 });
        const record = half.records[0];
        if (!record || record.queueOffset !== entry.halfQueueOffset) continue;
        const message = { ...fromStoredRecord(record), topic: entry.topic };
        if (!this.options.checkBack(message, entry.transactionId)) continue;
        entry.checks++;
        this.counts.checks++;
        this.options.onEvent?.(entry.topic, 'CHECK');
      }
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.sweeping = false;
    }
  }

  /** Open transactions from the log: halves from the last op's openLow, minus those a later op settled. */
  private async recover(): Promise<void> {
    const { store } = this.options;
    const ops = store.queueRange(OP_TOPIC, 0);
    let openLow = 0;
    if (ops.maxQueueOffset > ops.minQueueOffset) {
      const { records } = await store.read(OP_TOPIC, 0, ops.maxQueueOffset - 1, { countMax: 1 });
      openLow = Number(records[0]?.properties.get(TRANSACTION_PROPERTY.openLow) ?? 0);
    }
    const halves = store.queueRange(HALF_TOPIC, 0);
    this.knownHalfEnd = halves.maxQueueOffset;
    const candidates = new Map<number, { logOffset: number; sizeBytes: number }>();
    for (let from = Math.max(openLow, halves.minQueueOffset); from < halves.maxQueueOffset; ) {
      const entries = await store.queueEntries(HALF_TOPIC, 0, from, MESSAGING_LIMITS.timerRecoveryChunk);
      if (entries.length === 0) break;
      for (const entry of entries) candidates.set(entry.queueOffset, entry);
      from = entries[entries.length - 1].queueOffset + 1;
    }
    if (candidates.size === 0) return;
    // Ops settling these halves come after the first of them in the log: find the first such op.
    const firstLogOffset = Math.min(...[...candidates.values()].map((c) => c.logOffset));
    let low = ops.minQueueOffset;
    let high = ops.maxQueueOffset;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const [entry] = await store.queueEntries(OP_TOPIC, 0, mid, 1);
      if (entry && entry.logOffset > firstLogOffset) high = mid;
      else low = mid + 1;
    }
    for (let from = low; from < ops.maxQueueOffset; ) {
      const { records, nextQueueOffset } = await store.read(OP_TOPIC, 0, from, { countMax: 1000 });
      for (const record of records) candidates.delete(Number(record.properties.get(TRANSACTION_PROPERTY.halfQueueOffset)));
      if (nextQueueOffset === from) break;
      from = nextQueueOffset;
    }
    const nowMs = this.options.clock.nowMs();
    for (const [halfQueueOffset, location] of candidates) {
      const record = await store.readAt(location.logOffset, location.sizeBytes);
      const topic = realTopicOf(record);
      const messageId = record.properties.get(SYSTEM_PROPERTY.messageId) ?? '';
      const firstCheckMs = Number(record.properties.get(SYSTEM_PROPERTY.orphanedRecoveryMs)) || this.options.policy.firstMs;
      // Checks are not stored: those due before now count as made, but one is made again at once, and
      // the schedule goes on from there (not from the half's age, which would expire a transaction
      // whose producer has not reconnected yet at the first sweep after a long stop).
      const policy = { ...this.options.policy, firstMs: firstCheckMs };
      const checks = Math.max(0, checksDueBy(nowMs - record.storeTimestampMs, policy) - 1);
      this.open.set(halfQueueOffset, {
        transactionId: encodeTransactionId({ topic, messageId, halfQueueOffset }), topic, messageId, halfQueueOffset, bornMs: record.storeTimestampMs,
        checks, logOffset: location.logOffset, sizeBytes: location.sizeBytes, firstCheckMs,
        attempts: checks, scheduleOriginMs: checks === 0 ? record.storeTimestampMs : nowMs - checkAgeMs(checks, policy), ending: false,
      });
    }
  }
}
