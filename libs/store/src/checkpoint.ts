// The checkpoint: queue files are persisted, then checkpoint.json says up to which log offset
// they are complete (and how many entries each holds below it). Recovery replays the log from
// there; retention deletes only segments the checkpoint covers. A periodic checkpoint persists
// only the queues that are due (enough new entries, or the first one far enough behind the log's
// end) and stops below the first new entry of every other: what it says stays true, and recovery
// dispatches the held-back entries again (it skips those a queue already holds).
import { join } from 'node:path';
import type { ConsumeQueue } from './consume-queue';
import { writeJsonAtomic } from './state-file';
import { checkpointQueueName, type Checkpoint } from './store-recovery';

export interface CheckpointerDeps {
  dataDir: string;
  queues: Map<string, ConsumeQueue>;
  /**
   * How far the queues may be declared complete: the confirmed log offset, but never past the
   * flushed one (async mode), so a machine crash cannot leave entries below it pointing at lost data.
   */
  dispatchedLogOffset: () => number;
  /** The committed offset (commit-tracker.ts), kept so records above it stay unreadable after a restart. */
  committedLogOffset: () => number;
  /** A queue is due with this many new entries... */
  persistEntriesMin: number;
  /** ...or when its first new entry is this many bytes below the dispatched offset. */
  persistLagBytesMax: number;
}

/** 'all': every queue is persisted (at open, at close, around a cut of the log); 'due': only those that are due. */
export type CheckpointScope = 'all' | 'due';

export class Checkpointer {
  /** The log offset the last checkpoint written covers (retention deletes only below it). */
  checkpointedLogOffset = 0;
  private checkpointing: Promise<void> | undefined;
  /** What the last checkpoint written said, so an idle store does not rewrite the same one every tick. */
  private lastWritten: { dispatchedLogOffset: number; committedLogOffset: number; queueCount: number } | undefined;

  constructor(private readonly deps: CheckpointerDeps) {}

  get inFlight(): Promise<void> | undefined {
    return this.checkpointing;
  }

  /** Checkpoints one at a time: a caller waits for the one in flight, then writes a fresh one. */
  async run(scope: CheckpointScope = 'all'): Promise<void> {
    while (this.checkpointing) await this.checkpointing;
    this.checkpointing = this.write(scope);
    try {
      await this.checkpointing;
    } finally {
      this.checkpointing = undefined;
    }
  }

  /** The log was cut back below what the checkpoint covered (replica path); or started over there. */
  cutBackTo(logOffset: number, startOver = false): void {
    this.checkpointedLogOffset = startOver ? logOffset : Math.min(this.checkpointedLogOffset, logOffset);
  }

  private async write(scope: CheckpointScope): Promise<void> {
    const queues = [...this.deps.queues.values()];
    const durableLogOffset = this.deps.dispatchedLogOffset();
    // The checkpoint stops below the first new entry of every queue it holds back.
    let dispatchedLogOffset = durableLogOffset;
    const persisted: ConsumeQueue[] = [];
    for (const queue of queues) {
      if (scope === 'all' || this.isDue(queue, durableLogOffset)) persisted.push(queue);
      else dispatchedLogOffset = Math.min(dispatchedLogOffset, queue.firstUnpersistedLogOffset ?? Infinity);
    }
    // Not lowered with the held-back queues: what lies between is durable and committed, and is
    // readable at once after a restart (recovery dispatches it again; readers must not wait for a new write).
    const committedLogOffset = Math.min(this.deps.committedLogOffset(), durableLogOffset);
    const last = this.lastWritten;
    if (scope === 'due' && persisted.length === 0 && last?.dispatchedLogOffset === dispatchedLogOffset && last.committedLogOffset === committedLogOffset && last.queueCount === queues.length) {
      return; // nothing moved since the last one
    }
    const queueCounts: Record<string, number> = {};
    for (const queue of queues) queueCounts[checkpointQueueName(queue.topic, queue.queueId)] = await queue.countBelowLogOffset(dispatchedLogOffset);
    for (const queue of persisted) await queue.persist();
    await writeJsonAtomic(join(this.deps.dataDir, 'checkpoint.json'), { dispatchedLogOffset, committedLogOffset, queueCounts } satisfies Checkpoint);
    this.checkpointedLogOffset = Math.max(this.checkpointedLogOffset, dispatchedLogOffset); // retention: deletes only below this
    this.lastWritten = { dispatchedLogOffset, committedLogOffset, queueCount: queues.length };
  }

  private isDue(queue: ConsumeQueue, dispatchedLogOffset: number): boolean {
    const first = queue.firstUnpersistedLogOffset;
    if (first === undefined) return false; // nothing to write
    return queue.unpersistedCount >= this.deps.persistEntriesMin || dispatchedLogOffset - first >= this.deps.persistLagBytesMax;
  }
}
