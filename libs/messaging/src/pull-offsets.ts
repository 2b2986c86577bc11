// Pull consumers' committed offsets (UpdateOffset / GetOffset), behind a small interface so that
// they can move into the broker's state journal in the commit log. Until then: a JSON file,
// written atomically before UpdateOffset is answered (concurrent updates share one write).
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '@rmq/store';
import { MESSAGING_LIMITS } from './limits';
import { RmqError } from '@rmq/base';

export interface PullOffsetStore {
  get(group: string, topic: string, queueId: number): number | undefined;
  /** Resolves once the offset is durable. */
  set(group: string, topic: string, queueId: number, queueOffset: number): Promise<void>;
}

type OffsetTable = Record<string, number>;

const keyOf = (group: string, topic: string, queueId: number) => JSON.stringify([group, topic, queueId]);

export class FilePullOffsets implements PullOffsetStore {
  private writing: Promise<void> | undefined;
  private again: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private readonly offsets: Map<string, number>,
  ) {}

  static async open(dataDir: string): Promise<FilePullOffsets> {
    const path = join(dataDir, 'config', 'pull-offsets.json');
    const table = (await readJson<OffsetTable>(path)) ?? {};
    return new FilePullOffsets(path, new Map(Object.entries(table)));
  }

  get(group: string, topic: string, queueId: number): number | undefined {
    return this.offsets.get(keyOf(group, topic, queueId));
  }

  set(group: string, topic: string, queueId: number, queueOffset: number): Promise<void> {
    const key = keyOf(group, topic, queueId);
    if (!this.offsets.has(key) && this.offsets.size >= MESSAGING_LIMITS.pullOffsetsMax) {
      return Promise.reject(new RmqError('TOO_MANY_REQUESTS', { reason: `the broker keeps at most ${MESSAGING_LIMITS.pullOffsetsMax} pull offsets` }));
    }
    this.offsets.set(key, queueOffset);
    return this.persist();
  }

  /** One write at a time; changes made while one runs are covered by the next. */
  private persist(): Promise<void> {
    if (!this.writing) {
      this.writing = writeJsonAtomic(this.path, Object.fromEntries(this.offsets)).finally(() => {
        this.writing = undefined;
      });
      return this.writing;
    }
    this.again ??= this.writing.catch(() => undefined).then(() => {
      this.again = undefined;
      return this.persist();
    });
    return this.again;
  }
}
