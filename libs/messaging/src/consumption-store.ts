// Where consumer groups are in each queue, persisted so a restart loses neither progress nor
// in-flight deliveries: committed offsets, messages received but not yet acked (with their
// delivery ids, deadlines and attempts), and offsets done out of order. Written atomically to
// <dataDir>/config/consumer-state.json on an interval and at close; after a crash, what changed
// since the last write is delivered again (at-least-once), never skipped.
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@rmq/store';
import type { QueueConsumptionSnapshot } from './queue-consumption';

type StateTable = Record<string, Record<string, Record<string, QueueConsumptionSnapshot>>>;

interface StateFile {
  version: 1;
  groups: StateTable;
}

export class ConsumptionStore {
  private dirty = false;
  /** Live states, read when the file is written: nothing is copied on the hot path. */
  private readonly sources = new Map<string, { group: string; topic: string; queueId: number; snapshot: () => QueueConsumptionSnapshot }>();

  private constructor(
    private readonly path: string,
    private readonly table: StateTable,
  ) {}

  static async open(dataDir: string): Promise<ConsumptionStore> {
    const path = join(dataDir, 'config', 'consumer-state.json');
    const saved = await readJson<StateFile>(path);
    if (saved && saved.version !== 1) throw new Error(`${path} has version ${saved.version}; this broker reads version 1`);
    return new ConsumptionStore(path, saved?.groups ?? {});
  }

  /** What was saved for a queue before the restart. */
  saved(group: string, topic: string, queueId: number): QueueConsumptionSnapshot | undefined {
    return this.table[group]?.[topic]?.[String(queueId)];
  }

  /** Registers the live state of a queue; it is saved with every later persist(). */
  attach(group: string, topic: string, queueId: number, snapshot: () => QueueConsumptionSnapshot): void {
    this.sources.set(`${group}\u0000${topic}\u0000${queueId}`, { group, topic, queueId, snapshot });
    this.dirty = true;
  }

  /** Some attached state changed. */
  touch(): void {
    this.dirty = true;
  }

  committedOffset(group: string, topic: string, queueId: number): number | undefined {
    const live = this.sources.get(`${group}\u0000${topic}\u0000${queueId}`);
    return live ? live.snapshot().committedOffset : this.saved(group, topic, queueId)?.committedOffset;
  }

  groups(): string[] {
    return [...new Set([...Object.keys(this.table), ...[...this.sources.values()].map((source) => source.group)])];
  }

  async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    for (const { group, topic, queueId, snapshot } of this.sources.values()) {
      ((this.table[group] ??= {})[topic] ??= {})[String(queueId)] = snapshot();
    }
    await writeJsonAtomic(this.path, { version: 1, groups: this.table } satisfies StateFile);
  }
}
