// Every consumer group's progress in every queue on this broker (and each broadcast member's),
// journaled: each change to a QueueConsumption is made here, in memory, and recorded in the state
// journal in the same order, so replaying the journal rebuilds exactly these states. The returned
// promise says when the change is durable (acks, changes of invisible duration), or for what a
// receive hands out (admit, deliver, skip) when it reached the OS: callers answer clients only
// after it (decisions.md: a receive answers once its delivery records are written).
// The per-message changes are written in bytes (progress-codec.ts) with no change object; one
// that a value keeps out of the bytes (never expected) is recorded as JSON instead.
import type { Clock } from '@rmq/base';
import type { MessageStore } from '@rmq/store';
import { QueueConsumption, type InflightEntry, type QueueConsumptionSnapshot } from './queue-consumption';
import { BroadcastMembers } from './broadcast-members';
import { MESSAGING_LIMITS } from './limits';
import { ProgressTotals } from './progress-totals';
import type { BinaryStateSection, RecordStage, StateJournal } from './state/state-journal';
import type { ByteReader } from './state/byte-codec';
import {
  PROGRESS_BINARY_TYPE, decodeProgressChange, entryBytesMax, writeAdmit, writeComplete, writeDeliver, writeExtend, writeRenew, writeSkip,
} from './progress-codec';

/**
 * Whose progress: a group's in a queue, or (with `m`) a broadcast member's. (JSON leaves out an
 * undefined `m` and `mg`, so changes are built as plain literals on the hot path.)
 */
export interface ProgressKey {
  g: string;
  t: string;
  q: number;
  m?: string;
}

/** An in-flight entry as journaled: delivery id, visible-at, attempt. */
type Delivery = { d: string; v: number; a: number };

export type ProgressChange = ProgressKey &
  (
    | { op: 'start'; o: number; f: boolean }
    | { op: 'restore'; s: QueueConsumptionSnapshot; f: boolean }
    | ({ op: 'admit'; o: number; mg?: string } & Delivery)
    | ({ op: 'deliver'; o: number } & Delivery)
    | { op: 'skip'; to: number }
    | { op: 'complete'; o: number; d: string }
    | ({ op: 'renew'; o: number; old: string } & Delivery)
    | { op: 'extend'; o: number; d: string; v: number }
    | { op: 'forget' }
  );

export const PROGRESS_SECTION = 'progress';

export class ConsumerProgress implements BinaryStateSection<ProgressChange> {
  readonly name = PROGRESS_SECTION;
  readonly binaryType = PROGRESS_BINARY_TYPE;
  /** Group → topic → queue id → progress: nested, so finding one (per ack) builds no key string. */
  private readonly states = new Map<string, Map<string, Map<number, QueueConsumption>>>();
  readonly broadcast = new BroadcastMembers(MESSAGING_LIMITS.broadcastMemberIdleMsMax, MESSAGING_LIMITS.broadcastMembersMax);
  /** Sums per (group, topic), moved with every change below (what the broker's gauges read). */
  readonly totals = new ProgressTotals();

  constructor(
    private readonly journal: StateJournal,
    private readonly store: MessageStore,
    private readonly clock: Clock,
  ) {
    journal.register(this);
  }

  /**
   * The progress for `key`, made when first needed: a group starts at the queue's first message,
   * a broadcast member at its end (its client id is new on every client start; history is not
   * replayed to it).
   */
  state(key: ProgressKey, fifo: boolean): QueueConsumption {
    const existing = this.peek(key);
    if (existing) {
      if (key.m !== undefined) this.broadcast.touch(key.g, key.m, this.clock.nowMs());
      return existing;
    }
    this.journal.requireWritable();
    const range = this.store.queueRange(key.t, key.q);
    const o = key.m === undefined ? range.minQueueOffset : range.maxQueueOffset;
    const change: ProgressChange = { ...keyOf(key), op: 'start', o, f: fifo };
    this.apply(change);
    this.journal.note(this.name, change);
    return this.peek(key)!;
  }

  /** False on a slave, whose progress changes only by replication. */
  get writable(): boolean {
    return this.journal.isWritable;
  }

  /** The progress for `key` if there is any. */
  peek(key: ProgressKey): QueueConsumption | undefined {
    return key.m === undefined ? this.states.get(key.g)?.get(key.t)?.get(key.q) : this.broadcast.peek(key.g, key.m, key.t, key.q);
  }

  /** Every group's (not broadcast members') progress. */
  *groupStates(): Generator<{ key: ProgressKey; state: QueueConsumption }> {
    for (const [g, topics] of this.states) for (const [t, queues] of topics) for (const [q, state] of queues) yield { key: { g, t, q }, state };
  }

  *allStates(): Generator<{ key: ProgressKey; state: QueueConsumption }> {
    yield* this.groupStates();
    for (const { group, member, topic, queueId, state } of this.broadcast.queues()) yield { key: { g: group, t: topic, q: queueId, m: member }, state };
  }

  // Changes: made in memory at once, recorded when the returned promise resolves. Each is refused
  // before it touches memory while the journal takes no writes (a slave, or a broker between
  // roles): memory must never hold a change its log and its slaves do not.

  /** A new message handed out (or held back, FIFO); `written` resolves once its record reached the OS. */
  admit(key: ProgressKey, state: QueueConsumption, queueOffset: number, messageGroup: string | undefined, entry: InflightEntry): { delivered: boolean; written: Promise<void> } {
    this.journal.requireWritable();
    this.totals.before(state);
    const delivered = state.admit(queueOffset, messageGroup, entry);
    this.totals.after(state);
    const { deliveryId: d, visibleAtMs: v, attempt: a } = entry;
    writeAdmit(this.journal.beginBinary(this, entryBytesMax(key, d, messageGroup)), key, state, queueOffset, messageGroup, d, v, a);
    const written = this.journal.endBinary('written') ?? this.recordJson({ g: key.g, t: key.t, q: key.q, m: key.m, op: 'admit', o: queueOffset, mg: messageGroup, d, v, a }, 'written');
    return { delivered, written };
  }

  /** A message handed out again; resolves once its record reached the OS. */
  deliver(key: ProgressKey, state: QueueConsumption, queueOffset: number, entry: InflightEntry): Promise<void> {
    this.journal.requireWritable();
    this.totals.before(state);
    state.deliver(queueOffset, entry);
    this.totals.after(state);
    const { deliveryId: d, visibleAtMs: v, attempt: a } = entry;
    writeDeliver(this.journal.beginBinary(this, entryBytesMax(key, d)), key, state, queueOffset, d, v, a);
    return this.journal.endBinary('written') ?? this.recordJson({ g: key.g, t: key.t, q: key.q, m: key.m, op: 'deliver', o: queueOffset, d, v, a }, 'written');
  }

  /** Offsets a receive passed over (filtered out); resolves once its record reached the OS. */
  skipTo(key: ProgressKey, state: QueueConsumption, toOffset: number): Promise<void> | undefined {
    if (toOffset <= state.nextOffset) return undefined;
    this.journal.requireWritable();
    // No closure (totals.tracked): one capturing toOffset costs a context per call, and this runs per message read.
    this.totals.before(state);
    state.skipTo(toOffset);
    this.totals.after(state);
    writeSkip(this.journal.beginBinary(this, entryBytesMax(key)), key, state, toOffset);
    return this.journal.endBinary('written') ?? this.recordJson({ g: key.g, t: key.t, q: key.q, m: key.m, op: 'skip', to: toOffset }, 'written');
  }

  /** Undefined when that delivery is no longer current (nothing changes). */
  complete(key: ProgressKey, state: QueueConsumption, queueOffset: number, deliveryId: string): Promise<void> | undefined {
    this.journal.requireWritable();
    this.totals.before(state);
    const completed = state.complete(queueOffset, deliveryId);
    this.totals.after(state);
    if (!completed) return undefined;
    writeComplete(this.journal.beginBinary(this, entryBytesMax(key, deliveryId)), key, state, queueOffset, deliveryId);
    return this.journal.endBinary() ?? this.recordJson({ g: key.g, t: key.t, q: key.q, m: key.m, op: 'complete', o: queueOffset, d: deliveryId });
  }

  renew(key: ProgressKey, state: QueueConsumption, queueOffset: number, deliveryId: string, next: InflightEntry): Promise<void> | undefined {
    this.journal.requireWritable();
    if (!state.renew(queueOffset, deliveryId, next)) return undefined;
    const { deliveryId: d, visibleAtMs: v, attempt: a } = next;
    writeRenew(this.journal.beginBinary(this, entryBytesMax(key, deliveryId, d)), key, state, queueOffset, deliveryId, d, v, a);
    return this.journal.endBinary() ?? this.recordJson({ g: key.g, t: key.t, q: key.q, m: key.m, op: 'renew', o: queueOffset, old: deliveryId, d, v, a });
  }

  extend(key: ProgressKey, state: QueueConsumption, queueOffset: number, deliveryId: string, visibleAtMs: number): boolean {
    if (!this.journal.isWritable || !state.extend(queueOffset, deliveryId, visibleAtMs)) return false;
    writeExtend(this.journal.beginBinary(this, entryBytesMax(key, deliveryId)), key, state, queueOffset, deliveryId, visibleAtMs);
    if (!this.journal.endBinaryNoted()) this.journal.note(this.name, { g: key.g, t: key.t, q: key.q, m: key.m, op: 'extend', o: queueOffset, d: deliveryId, v: visibleAtMs } satisfies ProgressChange);
    return true;
  }

  /** Broadcast members idle for too long are forgotten, with their progress. */
  expireMembers(nowMs: number): void {
    if (!this.journal.isWritable) return;
    for (const { group, member } of this.broadcast.expire(nowMs)) this.journal.note(this.name, { g: group, t: '', q: 0, m: member, op: 'forget' } satisfies ProgressChange);
  }

  // StateSection: replay and dump.

  applyBinary(reader: ByteReader): void {
    this.apply(decodeProgressChange(reader));
  }

  apply(change: ProgressChange): void {
    if (change.op === 'start' || change.op === 'restore') {
      const fifo = change.f;
      const created =
        change.op === 'start' ? new QueueConsumption(change.o, { fifo }) : QueueConsumption.restore(change.s, this.store.queueRange(change.t, change.q).maxQueueOffset, { fifo });
      if (change.m === undefined) {
        let topics = this.states.get(change.g);
        if (!topics) this.states.set(change.g, (topics = new Map()));
        let queues = topics.get(change.t);
        if (!queues) topics.set(change.t, (queues = new Map()));
        this.totals.added(change.g, change.t, change.q, created, queues.get(change.q));
        queues.set(change.q, created);
      } else this.broadcast.state(change.g, change.m, change.t, change.q, this.clock.nowMs(), () => created);
      return;
    }
    if (change.op === 'forget') {
      this.broadcast.forget(change.g, change.m ?? '');
      return;
    }
    const state = this.peek(change);
    if (!state) return; // its start was before the snapshot this replay began with: nothing to change
    switch (change.op) {
      case 'admit':
        this.totals.tracked(state, () => state.admit(change.o, change.mg, entryOf(change)));
        break;
      case 'deliver':
        this.totals.tracked(state, () => state.deliver(change.o, entryOf(change)));
        break;
      case 'skip':
        this.totals.tracked(state, () => state.skipTo(change.to));
        break;
      case 'complete':
        this.totals.tracked(state, () => state.complete(change.o, change.d));
        break;
      case 'renew':
        state.renew(change.o, change.old, entryOf(change));
        break;
      case 'extend':
        state.extend(change.o, change.d, change.v);
        break;
    }
  }

  dump(): ProgressChange[] {
    return [...this.allStates()].map(({ key, state }) => ({ ...keyOf(key), op: 'restore', s: state.snapshot(), f: state.fifo }));
  }

  reset(): void {
    this.states.clear();
    this.totals.clear();
    this.broadcast.clear();
  }

  /** A change the bytes could not carry (a value out of their range), as JSON. */
  private recordJson(change: ProgressChange, stage: RecordStage = 'durable'): Promise<void> {
    return this.journal.record(this.name, change, stage);
  }
}

function keyOf(key: ProgressKey): ProgressKey {
  return key.m === undefined ? { g: key.g, t: key.t, q: key.q } : { g: key.g, t: key.t, q: key.q, m: key.m };
}

function entryOf(change: Delivery): InflightEntry {
  return { deliveryId: change.d, visibleAtMs: change.v, attempt: change.a };
}
