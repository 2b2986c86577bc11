// A replica's epoch file: one (epoch, startLogOffset) entry per epoch in which a master wrote this
// store's log, oldest first, replaced atomically. A broker writes the entry of its epoch before it
// serves as master; after a failover, a slave compares its entries with the new master's to find
// where their logs part (truncationPoint) and cuts its log there.
import { assert } from '@rmq/base';
import { readJson, writeJsonAtomic } from './state-file';

export interface EpochEntry {
  epoch: number;
  startLogOffset: number;
}

export class EpochFile {
  private constructor(
    private readonly path: string,
    private list: EpochEntry[],
  ) {}

  static async open(path: string): Promise<EpochFile> {
    const saved = (await readJson<{ entries: EpochEntry[] }>(path))?.entries ?? [];
    for (let i = 1; i < saved.length; i++) {
      assert(saved[i].epoch > saved[i - 1].epoch && saved[i].startLogOffset >= saved[i - 1].startLogOffset, 'epoch file out of order', { path, entries: saved });
    }
    return new EpochFile(path, saved);
  }

  entries(): readonly EpochEntry[] {
    return this.list;
  }

  last(): EpochEntry | undefined {
    return this.list.at(-1);
  }

  /** Starts `epoch` at `startLogOffset`; epochs only grow, and their start never goes back. */
  async begin(epoch: number, startLogOffset: number): Promise<void> {
    const last = this.last();
    if (last?.epoch === epoch && last.startLogOffset === startLogOffset) return;
    assert(!last || (epoch > last.epoch && startLogOffset >= last.startLogOffset), 'an epoch must be newer than the last one and start no earlier', { last, epoch, startLogOffset });
    await this.save([...this.list, { epoch, startLogOffset }]);
  }

  /** After the log was cut back to `logOffset`: epochs that started beyond it are forgotten. */
  async truncateFrom(logOffset: number): Promise<void> {
    const kept = this.list.filter((entry) => entry.startLogOffset <= logOffset);
    if (kept.length !== this.list.length) await this.save(kept);
  }

  private async save(entries: EpochEntry[]): Promise<void> {
    await writeJsonAtomic(this.path, { entries });
    this.list = entries;
  }
}

/**
 * How much of its log a replica shares with the (new) master: the log offset it must cut back
 * to. It is where the replica's newest epoch that the master also has ends on either side; the
 * parts of the replica's log written in epochs the master never had diverge.
 */
export function truncationPoint(mine: readonly EpochEntry[], theirs: readonly EpochEntry[], theirEndLogOffset: number, myEndLogOffset: number): number {
  let bound = myEndLogOffset;
  for (let i = mine.length - 1; i >= 0; i--) {
    const epoch = mine[i].epoch;
    let j = theirs.length - 1;
    while (j >= 0 && theirs[j].epoch > epoch) j--;
    if (j >= 0 && theirs[j].epoch === epoch) {
      const theirEpochEnd = j + 1 < theirs.length ? theirs[j + 1].startLogOffset : theirEndLogOffset;
      return Math.min(bound, theirEpochEnd);
    }
    bound = Math.min(bound, mine[i].startLogOffset); // written in an epoch the master never had
  }
  return bound; // no epoch in common: at most up to the replica's first epoch
}
