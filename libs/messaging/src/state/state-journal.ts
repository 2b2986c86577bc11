// The broker's state (topics, groups, permission, the receipt-handle key, consumer progress)
// journaled as system records in the commit log, through the same group commit as messages. So
// a replica that copies the log knows everything its master knew, and a restart or a failover
// resumes exactly. Ordering rules:
//   - a component changes its memory, then records the change; the caller answers only once the
//     record is durable (the store's flush mode), so nothing answered is lost by a crash; except
//     records of deliveries (stage 'written'), answered once written to the OS: a process crash
//     cannot lose them, a machine crash can, and then those messages are delivered again;
//   - changes are recorded in the order they were made (one writer: the store reserves log
//     positions synchronously), and replay applies them in log order, so replay is deterministic;
//   - changes pending at the same time go out as one record (a batch of acks is one record);
//   - change records are binary (kind 'b', change-body.ts): the frequent changes (deliveries,
//     acks) in bytes their section writes without JSON, the rare ones as JSON entries among
//     them; records of kind 'c' (all JSON, written before) are still replayed;
//   - before retention may drop old segments, the whole state is written again into the log (an
//     in-log snapshot, its parts in one append so nothing interleaves); retention keeps
//     everything from the newest one on, so the retained log alone always holds all state;
//   - the snapshot file outside the log only shortens replay: one that is missing, stale or from a
//     log that lost its tail costs replay time, never state.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RmqError, STATE_TOPIC, type Clock } from '@rmq/base';
import { readJson, writeJsonAtomic, type AppendInput, type AppendResult, type AppendStages, type MessageStore, type StoredRecord } from '@rmq/store';
import { STATE_LIMITS } from './state-limits';
import type { ByteReader, ByteWriter } from './byte-codec';
import { PendingBodies, readChangeBody, type Entry } from './change-body';

/** One part of the broker's state: replays changes and dumps itself as changes. */
export interface StateSection<Change = unknown> {
  readonly name: string;
  apply(change: Change): void;
  /** The whole section as changes which, applied after reset(), rebuild it. */
  dump(): Change[];
  reset(): void;
}

/**
 * A section whose frequent changes are bytes of its own in binary change records (JSON costs
 * an object and a string per change; a delivery and an ack per message are too many for that).
 */
export interface BinaryStateSection<Change = unknown> extends StateSection<Change> {
  /** Its entry type in change records: 1-255, one per section (0 is a change as JSON). */
  readonly binaryType: number;
  /** Reads one change this section wrote (through beginBinary) from `reader`, and applies it. */
  applyBinary(reader: ByteReader): void;
}

/** The record property that says what a state record holds. */
const KIND_PROPERTY = 'k';
/** Changes as a JSON list: written before binary change records, still replayed. */
const KIND_JSON_CHANGES = 'c';
const KIND_CHANGES = 'b';
const KIND_SNAPSHOT = 's';

interface SnapshotFile {
  version: 1;
  /** The state-queue offset after the last record this snapshot covers. */
  nextStateOffset: number;
  /** Log offset of that last record (-1: none): a log that lost it makes the file stale. */
  lastLogOffset: number;
  entries: Entry[];
}

export interface StateJournalOptions {
  store: MessageStore;
  dataDir: string;
  clock: Clock;
  /** Write an in-log snapshot when the log grew this much since the last one. */
  snapshotEveryBytes?: number;
  onError?: (error: unknown) => void;
  onEvent?: (event: StateJournalEvent) => void;
}

export type StateJournalEvent =
  | { kind: 'replayed'; fromSnapshotFile: boolean; recordsReplayed: number; durationMs: number }
  | { kind: 'snapshotWritten'; logOffset: number; parts: number; entries: number };

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** When a recorded change is answered: once durable (the default), or once written to the OS. */
export type RecordStage = 'durable' | 'written';

/** The changes of one record: told when it reached the OS, and when it is durable. */
interface Batch {
  written: Deferred;
  durable: Deferred;
}

export class StateJournal {
  private readonly sections = new Map<string, StateSection>();
  private readonly binarySections = new Map<number, BinaryStateSection>();
  private pending = new PendingBodies(STATE_LIMITS.recordBodyBytesMax);
  private batch: Batch | undefined;
  /** The record being written: the next one is appended once this one reached the OS. */
  private inFlight: Promise<void> | undefined;
  /** The newest record's commit (records commit in log order): settled once all are durable or failed. */
  private committing: Promise<void> = Promise.resolve();
  private flushScheduled = false;
  private flushQueued = false;
  /** The pending record has a change whose caller waits for `written` (a delivery: it goes out this turn). */
  private pendingWaitsWritten = false;
  /** State-queue offset after the last record whose changes are in memory. */
  private appliedStateOffset = 0;
  private lastLogOffset = -1;
  /** First log offset of the newest in-log snapshot: retention keeps everything from here on. */
  private snapshotLogOffset = 0;
  private snapshotSequence = 0;
  private writable = true;
  private closed = false;
  /** A slave's catch-up in flight, and whether more records arrived meanwhile. */
  private following: Promise<void> | undefined;
  private followAgain = false;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly snapshotPath: string;
  private readonly snapshotEveryBytes: number;

  constructor(private readonly options: StateJournalOptions) {
    this.snapshotPath = join(options.dataDir, 'config', 'state-snapshot.json');
    this.snapshotEveryBytes = options.snapshotEveryBytes ?? STATE_LIMITS.snapshotEveryBytesDefault;
  }

  register(section: StateSection | BinaryStateSection): void {
    if (this.sections.has(section.name)) throw new Error(`state section ${section.name} registered twice`);
    if ('binaryType' in section) {
      const type = section.binaryType;
      if (!(Number.isInteger(type) && type >= 1 && type <= 255) || this.binarySections.has(type)) throw new Error(`state section ${section.name}: binary type ${type} is taken or not 1-255`);
      this.binarySections.set(type, section);
    }
    this.sections.set(section.name, section);
  }

  /**
   * Rebuilds every section from the snapshot file and the state records after it. `writable`
   * false: a slave, which applies the state records its log receives by replication instead.
   */
  async open(options: { writable?: boolean } = {}): Promise<void> {
    this.writable = options.writable ?? true;
    await this.load();
    this.options.store.holdRetentionFrom(() => this.snapshotLogOffset);
    this.timer = setInterval(() => this.snapshotIfDue(), STATE_LIMITS.snapshotCheckIntervalMs).unref();
    this.unsubscribe = this.options.store.onConfirmed((topic) => {
      if (topic === STATE_TOPIC && !this.writable) this.follow();
    });
  }

  /** Forgets everything and rebuilds it from the log (after the log was cut back on a failover). */
  async reload(): Promise<void> {
    await this.settled();
    while (this.following) await this.following;
    this.pending = new PendingBodies(STATE_LIMITS.recordBodyBytesMax);
    const rebuilding = new RmqError('TOO_MANY_REQUESTS', { reason: 'the broker state is being rebuilt after a failover; try again shortly' });
    this.batch?.written.reject(rebuilding);
    this.batch?.durable.reject(rebuilding);
    this.batch = undefined;
    this.pendingWaitsWritten = false;
    await this.load();
  }

  private async load(): Promise<void> {
    const startedMs = this.options.clock.nowMs();
    await mkdir(dirname(this.snapshotPath), { recursive: true });
    const { minQueueOffset, maxQueueOffset } = this.options.store.queueRange(STATE_TOPIC, 0);
    const file = await this.usableSnapshotFile(minQueueOffset, maxQueueOffset);
    for (const section of this.sections.values()) section.reset();
    // Unknown until replay meets an in-log snapshot: retention keeps everything meanwhile.
    this.snapshotLogOffset = 0;
    let from = minQueueOffset;
    // Retention dropped the oldest records: changes before the first snapshot have no base to apply to.
    let awaitingSnapshot = minQueueOffset > 0;
    if (file) {
      this.applyEntries(file.entries);
      from = file.nextStateOffset;
      this.lastLogOffset = file.lastLogOffset;
      awaitingSnapshot = false;
    }
    const recordsReplayed = await this.replay(from, maxQueueOffset, awaitingSnapshot);
    this.appliedStateOffset = maxQueueOffset;
    this.options.onEvent?.({ kind: 'replayed', fromSnapshotFile: file !== undefined, recordsReplayed, durationMs: this.options.clock.nowMs() - startedMs });
  }

  /** True when the journal holds no state record at all (a new broker). */
  get isEmpty(): boolean {
    return this.options.store.queueRange(STATE_TOPIC, 0).maxQueueOffset === 0 && this.pending.isEmpty;
  }

  /**
   * Records a change already made in memory; resolves once it is durable, or with `stage`
   * 'written' once it reached the OS: for deliveries, which a machine crash may undo (they are
   * then delivered again). Changes recorded together go out as one record.
   */
  record(section: string, change: unknown, stage: RecordStage = 'durable'): Promise<void> {
    if (this.closed || !this.writable) return this.refused();
    this.pending.json(section, change);
    return this.recorded(stage);
  }

  /**
   * Starts a change of a binary section, already made in memory: the section writes its bytes
   * into the returned writer, then calls endBinary. Throws what requireWritable throws.
   */
  beginBinary(section: BinaryStateSection, bytesMax: number): ByteWriter {
    this.requireWritable();
    return this.pending.begin(section.binaryType, bytesMax);
  }

  /**
   * Ends the change begun by beginBinary; resolves as `record` does. Undefined when its bytes
   * could not carry a value: nothing was recorded, and the section records the change as JSON.
   */
  endBinary(stage: RecordStage = 'durable'): Promise<void> | undefined {
    return this.pending.end() ? this.recorded(stage) : undefined;
  }

  /** endBinary for a change nobody waits for (a failure goes to onError); false as endBinary's undefined. */
  endBinaryNoted(): boolean {
    const durable = this.endBinary();
    durable?.catch((error: unknown) => this.options.onError?.(error));
    return durable !== undefined;
  }

  /** The promise of the pending record's `stage`; schedules its write. */
  private recorded(stage: RecordStage): Promise<void> {
    const batch = (this.batch ??= { written: deferred(), durable: deferred() });
    if (stage === 'written') this.pendingWaitsWritten = true;
    this.scheduleFlush();
    return stage === 'written' ? batch.written.promise : batch.durable.promise;
  }

  private refused(): Promise<void> {
    return Promise.reject(this.closed ? new RmqError('STORE_CLOSED') : slaveRefusal());
  }

  /** Records a change nobody waits for (renewals, sweeps); a failure goes to onError. */
  note(section: string, change: unknown): void {
    this.record(section, change).catch((error: unknown) => this.options.onError?.(error));
  }

  get isWritable(): boolean {
    return this.writable;
  }

  /**
   * Throws what `record` would reject with while the journal takes no writes: a section calls it
   * before changing its memory, so memory never holds a change the log does not.
   */
  requireWritable(): void {
    if (this.closed) throw new RmqError('STORE_CLOSED');
    if (!this.writable) throw slaveRefusal();
  }

  /** A slave: state changes only by the records its master wrote, applied as they are copied. */
  becomeSlave(): void {
    this.writable = false;
    this.follow();
  }

  /** A new master: applies every state record copied so far, then records its own changes. */
  async becomeMaster(): Promise<void> {
    while (this.following) await this.following;
    await this.catchUp();
    this.writable = true;
  }

  /** Applies the state records that reached the log by replication, one catch-up at a time. */
  private follow(): void {
    if (this.following) {
      this.followAgain = true;
      return;
    }
    this.following = this.catchUp()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.following = undefined;
        if (this.followAgain && !this.writable) {
          this.followAgain = false;
          this.follow();
        }
      });
  }

  private async catchUp(): Promise<void> {
    const { maxQueueOffset } = this.options.store.queueRange(STATE_TOPIC, 0);
    if (maxQueueOffset <= this.appliedStateOffset) return;
    await this.replay(this.appliedStateOffset, maxQueueOffset, false);
    this.appliedStateOffset = maxQueueOffset;
  }

  /**
   * Writes the whole state into the log (an in-log snapshot) and the snapshot file. Changes
   * pending now go first, in the same append, so the snapshot follows them.
   */
  async snapshot(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.closed || !this.writable) return;
    const changes = this.takePending();
    const entries = this.dump();
    const id = `${this.options.clock.nowMs().toString(36)}-${this.snapshotSequence++}`;
    const changeRecords = changes ? changes.bodies.map((body) => stateRecord(body, { [KIND_PROPERTY]: KIND_CHANGES }, this.options.clock)) : [];
    const parts = bodiesOf(entries);
    const snapshotRecords = parts.map((body, index) =>
      stateRecord(body, { [KIND_PROPERTY]: KIND_SNAPSHOT, id, part: String(index), parts: String(parts.length) }, this.options.clock),
    );
    const appended = this.options.store.appendStaged([...changeRecords, ...snapshotRecords]);
    if (changes) this.pending.release(); // copied into the log's buffers by the append
    if (changes) this.settle(changes.batch, appended);
    // The snapshot file may describe only durable records: this flight lasts until the commit.
    this.inFlight = appended.committed.then(
      async (results) => {
        this.noteWritten(results);
        this.snapshotLogOffset = results[changeRecords.length].logOffset;
        this.options.onEvent?.({ kind: 'snapshotWritten', logOffset: this.snapshotLogOffset, parts: parts.length, entries: entries.length });
        await this.writeSnapshotFile(entries);
      },
    ).finally(() => this.afterFlight());
    await this.inFlight;
  }

  /** Writes what is pending, then the snapshot file (a quick restart next time). */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    this.unsubscribe?.();
    while (this.following) await this.following;
    this.flushNow();
    await this.settled();
    this.closed = true;
    if (this.appliedStateOffset > 0) await this.writeSnapshotFile(this.dump());
  }

  /**
   * A record with a delivery goes out at the end of the current microtask queue: its receive
   * answers once it is written, and a turn of a busy event loop is milliseconds. Others (acks,
   * renewals: answered once durable, so after an fdatasync anyway) wait for the loop's check
   * phase, gathering every change of the turn into one record.
   */
  private scheduleFlush(): void {
    if (this.inFlight) return; // after the record in flight, the next takes everything pending
    if (this.pendingWaitsWritten) {
      if (this.flushQueued) return;
      this.flushQueued = true;
      queueMicrotask(this.queuedFlush);
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.scheduledFlush);
  }

  // Made once: a closure written inside scheduleFlush (run per delivery and per ack) would make
  // V8 allocate a context for `this` on every call, whether or not it schedules anything.
  private readonly queuedFlush = (): void => {
    this.flushQueued = false;
    this.flushNow();
  };

  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flushNow();
  };

  private flushNow(): void {
    if (this.inFlight) return;
    const taken = this.takePending();
    if (!taken) return;
    let appended: AppendStages;
    try {
      appended = this.options.store.appendStaged(taken.bodies.map((body) => stateRecord(body, { [KIND_PROPERTY]: KIND_CHANGES }, this.options.clock)));
      this.pending.release(); // copied into the log's buffers by the append
    } catch (error) {
      // Refused at once (a record it cannot take): its callers hear it instead of waiting forever.
      taken.batch.written.reject(error);
      taken.batch.durable.reject(error);
      this.options.onError?.(error);
      return;
    }
    this.settle(taken.batch, appended);
    // The next record goes out once this one reached the OS (it joins the next group commit).
    this.inFlight = appended.written
      .then(() => undefined, () => undefined)
      .finally(() => this.afterFlight());
  }

  /** Tells the batch's callers about each stage of its append; notes what it wrote once committed. */
  private settle(batch: Batch, appended: AppendStages): void {
    appended.written.then(() => batch.written.resolve(), (error: unknown) => batch.written.reject(error));
    const committed = appended.committed.then(
      (results) => {
        this.noteWritten(results);
        batch.durable.resolve();
      },
      (error: unknown) => batch.durable.reject(error),
    );
    this.committing = committed;
  }

  /** Resolves once no record is being written or committed (each failure went to its callers). */
  private async settled(): Promise<void> {
    for (;;) {
      const flight = this.inFlight;
      const committing = this.committing;
      await flight?.catch(() => undefined);
      await committing;
      if (!this.inFlight && this.committing === committing) return;
    }
  }

  private afterFlight(): void {
    this.inFlight = undefined;
    if (!this.pending.isEmpty) this.scheduleFlush();
  }

  private takePending(): { bodies: Buffer[]; batch: Batch } | undefined {
    if (this.pending.isEmpty || !this.batch) return undefined;
    const taken = { bodies: this.pending.take(), batch: this.batch };
    this.batch = undefined;
    this.pendingWaitsWritten = false;
    return taken;
  }

  private noteWritten(results: AppendResult[]): void {
    const last = results[results.length - 1];
    if (!last) return;
    this.appliedStateOffset = Math.max(this.appliedStateOffset, last.queueOffset + 1);
    this.lastLogOffset = Math.max(this.lastLogOffset, last.logOffset);
  }

  private snapshotIfDue(): void {
    if (this.closed || !this.writable || this.inFlight) return;
    if (this.options.store.confirmedLogOffset - this.snapshotLogOffset < this.snapshotEveryBytes) return;
    this.snapshot().catch((error: unknown) => this.options.onError?.(error));
  }

  private dump(): Entry[] {
    const entries: Entry[] = [];
    for (const section of this.sections.values()) for (const change of section.dump()) entries.push([section.name, change]);
    return entries;
  }

  private applyEntries(entries: readonly Entry[]): void {
    for (const entry of entries) this.applyEntry(entry);
  }

  private applyEntry([name, change]: Entry): void {
    const section = this.sections.get(name);
    if (!section) throw new RmqError('STATE_UNREADABLE', { reason: `the commit log holds state of an unknown kind "${name}" (written by a newer broker?)` });
    section.apply(change);
  }

  /** Applies a binary change record's entries in order. */
  private applyChangeBody(record: StoredRecord): void {
    try {
      readChangeBody(record.body, this.changeVisitor);
    } catch (error) {
      if (error instanceof RmqError) throw error;
      throw new RmqError('STATE_UNREADABLE', { reason: `state record at log offset ${record.logOffset} cannot be read: ${(error as Error).message}` });
    }
  }

  private readonly changeVisitor = {
    json: (entry: Entry) => this.applyEntry(entry),
    binary: (type: number, reader: ByteReader) => {
      const section = this.binarySections.get(type);
      if (!section) throw new RmqError('STATE_UNREADABLE', { reason: `the commit log holds state changes of an unknown binary type ${type} (written by a newer broker?)` });
      section.applyBinary(reader);
    },
  };

  /** Applies state records [from, to); returns how many were read. */
  private async replay(from: number, to: number, awaitingSnapshot: boolean): Promise<number> {
    let next = from;
    let replayed = 0;
    let parts: StoredRecord[] = [];
    while (next < to) {
      const { records, nextQueueOffset } = await this.options.store.read(STATE_TOPIC, 0, next, { countMax: STATE_LIMITS.replayBatchRecordsMax });
      if (records.length === 0 && nextQueueOffset <= next) break;
      for (const record of records) {
        replayed++;
        this.lastLogOffset = record.logOffset;
        const kind = record.properties.get(KIND_PROPERTY);
        if (kind === KIND_CHANGES) {
          parts = [];
          if (!awaitingSnapshot) this.applyChangeBody(record);
        } else if (kind === KIND_JSON_CHANGES) {
          parts = [];
          if (!awaitingSnapshot) this.applyEntries(decodeEntries(record));
        } else if (kind === KIND_SNAPSHOT) {
          const part = Number(record.properties.get('part'));
          const previous = parts[parts.length - 1];
          if (part === 0) parts = [record];
          else if (previous && previous.properties.get('id') === record.properties.get('id') && part === parts.length) parts.push(record);
          else parts = [];
          if (parts.length > 0 && parts.length === Number(record.properties.get('parts'))) {
            for (const section of this.sections.values()) section.reset();
            for (const snapshotPart of parts) this.applyEntries(decodeEntries(snapshotPart));
            this.snapshotLogOffset = parts[0].logOffset;
            awaitingSnapshot = false;
            parts = [];
          }
        } else {
          throw new RmqError('STATE_UNREADABLE', { reason: `state record at log offset ${record.logOffset} has unknown kind ${JSON.stringify(kind)}` });
        }
      }
      next = Math.max(nextQueueOffset, next + 1);
    }
    return replayed;
  }

  private async usableSnapshotFile(minQueueOffset: number, maxQueueOffset: number): Promise<SnapshotFile | undefined> {
    const file = await readJson<SnapshotFile>(this.snapshotPath).catch(() => undefined);
    if (!file || file.version !== 1 || !Array.isArray(file.entries)) return undefined;
    // It must describe this log: not past its end, its last record still retained and where the
    // file says (a log that lost its tail may have reused those offsets for other records).
    if (file.nextStateOffset > maxQueueOffset) return undefined;
    if (file.nextStateOffset === 0) return minQueueOffset === 0 && file.lastLogOffset === -1 ? file : undefined;
    if (file.nextStateOffset - 1 < minQueueOffset) return undefined;
    const { records } = await this.options.store.read(STATE_TOPIC, 0, file.nextStateOffset - 1, { countMax: 1 });
    return records[0]?.queueOffset === file.nextStateOffset - 1 && records[0].logOffset === file.lastLogOffset ? file : undefined;
  }

  private async writeSnapshotFile(entries: Entry[]): Promise<void> {
    const file: SnapshotFile = { version: 1, nextStateOffset: this.appliedStateOffset, lastLogOffset: this.lastLogOffset, entries };
    // 0600: the state holds secrets (the receipt-handle key, users' secrets).
    await writeJsonAtomic(this.snapshotPath, file, { mode: 0o600 });
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every caller awaits it; this keeps a batch nobody awaits from failing the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Entries as snapshot bodies of bounded size: usually one body, split only when it is too long. */
function bodiesOf(entries: readonly Entry[]): Buffer[] {
  const whole = Buffer.from(JSON.stringify(entries));
  if (whole.length <= STATE_LIMITS.recordBodyBytesMax || entries.length === 1) return [whole];
  const middle = entries.length >>> 1;
  return [...bodiesOf(entries.slice(0, middle)), ...bodiesOf(entries.slice(middle))];
}

function stateRecord(body: Buffer, properties: Record<string, string>, clock: Clock): AppendInput {
  return {
    topic: STATE_TOPIC,
    queueId: 0,
    tagHash: 0,
    flags: 0,
    bornTimestampMs: clock.nowMs(),
    properties: new Map(Object.entries(properties)),
    body,
  };
}

function decodeEntries(record: StoredRecord): Entry[] {
  try {
    const entries = JSON.parse(record.body.toString('utf8')) as Entry[];
    if (!Array.isArray(entries)) throw new Error('not a list');
    return entries;
  } catch (error) {
    throw new RmqError('STATE_UNREADABLE', { reason: `state record at log offset ${record.logOffset} cannot be read: ${(error as Error).message}` });
  }
}

function slaveRefusal(): RmqError {
  return new RmqError('BAD_REQUEST', { reason: 'this broker is a slave: its state changes only by copying its master' });
}
