// Pull consumers' committed offsets (UpdateOffset / GetOffset): consumer progress, so a section
// of the broker state journal in the commit log. A restart and a replica taking over read them
// back with the rest of the state; UpdateOffset is answered once its record is durable.
import { RmqError } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';
import type { StateJournal, StateSection } from './state/state-journal';

export interface PullOffsetStore {
  get(group: string, topic: string, queueId: number): number | undefined;
  /** Resolves once the offset is durable. */
  set(group: string, topic: string, queueId: number, queueOffset: number): Promise<void>;
}

type PullOffsetChange = { group: string; topic: string; queueId: number; offset: number };

const keyOf = (group: string, topic: string, queueId: number) => JSON.stringify([group, topic, queueId]);

export class PullOffsets implements PullOffsetStore, StateSection<PullOffsetChange> {
  readonly name = 'pullOffsets';
  private readonly offsets = new Map<string, PullOffsetChange>();

  constructor(private readonly journal: StateJournal) {}

  apply(change: PullOffsetChange): void {
    this.offsets.set(keyOf(change.group, change.topic, change.queueId), change);
  }

  dump(): PullOffsetChange[] {
    return [...this.offsets.values()];
  }

  reset(): void {
    this.offsets.clear();
  }

  get(group: string, topic: string, queueId: number): number | undefined {
    return this.offsets.get(keyOf(group, topic, queueId))?.offset;
  }

  async set(group: string, topic: string, queueId: number, offset: number): Promise<void> {
    const key = keyOf(group, topic, queueId);
    if (!this.offsets.has(key) && this.offsets.size >= MESSAGING_LIMITS.pullOffsetsMax) {
      throw new RmqError('TOO_MANY_REQUESTS', { reason: `the broker keeps at most ${MESSAGING_LIMITS.pullOffsetsMax} pull offsets` });
    }
    const change = { group, topic, queueId, offset };
    this.journal.requireWritable(); // memory never holds a change the log does not
    this.apply(change);
    await this.journal.record(this.name, change);
  }
}
