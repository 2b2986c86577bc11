// Where the controller's state lives: one JSON file under the data dir, replaced atomically
// (temp file, fsync, rename, fsync of the folder) so a crash leaves the old or the new state,
// never half of one. Saves that arrive while a write is running are coalesced into one write
// of the newest state; every caller's promise resolves only once a state at least as new as
// its own is on disk (persist before answering).
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaGroup } from './replica-groups';
import { decodeState, encodeState } from './state-codec';

/** The controller's storage, kept small so an etcd-backed store can sit behind it later. */
export interface StateStore {
  load(): Promise<ReplicaGroup[]>;
  save(groups: readonly ReplicaGroup[]): Promise<void>;
  /** Resolves once every save asked for so far is durable. */
  settled(): Promise<void>;
}

export const STATE_FILE_NAME = 'controller-state.json';

export class StateFile implements StateStore {
  readonly path: string;
  private queued: { content: string; done: Promise<void> } | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string) {
    this.path = join(dataDir, STATE_FILE_NAME);
  }

  async load(): Promise<ReplicaGroup[]> {
    await mkdir(this.dataDir, { recursive: true });
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return decodeState(text, this.path);
  }

  save(groups: readonly ReplicaGroup[]): Promise<void> {
    const content = encodeState(groups);
    if (this.queued) {
      this.queued.content = content;
      return this.queued.done;
    }
    const entry = { content, done: Promise.resolve() };
    entry.done = this.inFlight
      .catch(() => undefined) // the earlier write's caller already got its error
      .then(() => {
        this.queued = undefined; // later saves wait for this write and then write again
        return writeAtomically(this.path, entry.content);
      });
    this.queued = entry;
    this.inFlight = entry.done;
    return entry.done;
  }

  settled(): Promise<void> {
    return this.queued?.done ?? this.inFlight;
  }
}

export async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w');
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  // The rename itself is durable only once the folder's entry is flushed.
  const folder = await open(join(path, '..'), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
