// Committed offsets of consumer groups, per (group, topic, queueId), persisted atomically in
// <dataDir>/config/consumer-offsets.json on an interval and at close. After a crash a group
// resumes from the last persisted offset: messages after it may be delivered again
// (at-least-once), never skipped.
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@rmq/store';

type OffsetTable = Record<string, Record<string, number[]>>;

export class OffsetStore {
  private dirty = false;

  private constructor(
    private readonly path: string,
    private readonly table: OffsetTable,
  ) {}

  static async open(dataDir: string): Promise<OffsetStore> {
    const path = join(dataDir, 'config', 'consumer-offsets.json');
    return new OffsetStore(path, (await readJson<OffsetTable>(path)) ?? {});
  }

  get(group: string, topic: string, queueId: number): number | undefined {
    return this.table[group]?.[topic]?.[queueId] ?? undefined;
  }

  set(group: string, topic: string, queueId: number, committedOffset: number): void {
    const queues = ((this.table[group] ??= {})[topic] ??= []);
    while (queues.length <= queueId) queues.push(0);
    if (queues[queueId] === committedOffset) return;
    queues[queueId] = committedOffset;
    this.dirty = true;
  }

  groups(): string[] {
    return Object.keys(this.table);
  }

  async persist(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeJsonAtomic(this.path, this.table);
  }
}
