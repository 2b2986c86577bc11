// The single-controller store: every group in one JSON file under the data dir, replaced
// atomically (store's writeFileAtomic: temp file, fdatasync, rename, fsync of the folder) so a crash leaves the old or the new
// state, never half of one. Compare-and-set is checked against the revisions held in memory: this
// process is the only writer. Writes that arrive while one is running are coalesced into one write
// of the newest state; each caller resolves only once a state at least as new as its own is on
// disk (persist before answering).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaGroup } from '@rmq/replication';
import { writeFileAtomic } from '@rmq/store';
import { decodeState, encodeState } from './state-codec';
import type { CasResult, StateStore, VersionedGroup } from './state-store';

export const STATE_FILE_NAME = 'controller-state.json';

export class FileStateStore implements StateStore {
  readonly kind = 'file';
  readonly path: string;
  private readonly groups = new Map<string, VersionedGroup>();
  private revision = 0;
  private queued: { done: Promise<void> } | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, STATE_FILE_NAME);
  }

  async load(): Promise<VersionedGroup[]> {
    await mkdir(this.dataDir, { recursive: true });
    let text: string | undefined;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.groups.clear();
    for (const group of text === undefined ? [] : decodeState(text, this.path)) {
      this.groups.set(group.brokerName, { group, revision: String(++this.revision) });
    }
    return [...this.groups.values()];
  }

  async compareAndSet(group: ReplicaGroup, expectedRevision: string | undefined): Promise<CasResult> {
    const current = this.groups.get(group.brokerName);
    if (current?.revision !== expectedRevision) return { ok: false, current, leadershipLost: false };
    const revision = String(++this.revision);
    this.groups.set(group.brokerName, { group, revision });
    await this.persist();
    return { ok: true, revision };
  }

  async close(): Promise<void> {
    await (this.queued?.done ?? this.inFlight);
  }

  private persist(): Promise<void> {
    if (this.queued) return this.queued.done; // that write has not started: it will carry this change too
    const entry = { done: Promise.resolve() };
    entry.done = this.inFlight
      .catch(() => undefined) // the earlier write's caller already got its error
      .then(() => {
        this.queued = undefined; // later changes wait for this write and then write again
        return writeFileAtomic(this.path, encodeState([...this.groups.values()].map((versioned) => versioned.group)));
      });
    this.queued = entry;
    this.inFlight = entry.done;
    return entry.done;
  }
}
