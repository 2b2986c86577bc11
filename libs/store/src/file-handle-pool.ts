// Open file handles shared by every consume queue of a store, at most `idleHandlesMax` of them
// idle at once: a store with thousands of queues (several files each) keeps a bounded number of
// descriptors, and a queue read or written again soon reuses its handle. Handles in use are never
// closed under their user; a handle whose file was deleted or cut is closed once idle.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

interface PooledHandle {
  handle: Promise<FileHandle>;
  /** The handle once opened (synchronous reads use only handles already open). */
  opened?: FileHandle;
  users: number;
  /** The file was deleted: close on release and never hand out again. */
  discarded: boolean;
}

export class FileHandlePool {
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  private readonly handles = new Map<string, PooledHandle>();

  constructor(private readonly idleHandlesMax: number) {}

  /** Runs `work` with a read-write handle of `path`; `create` makes a missing file, else ENOENT is thrown. */
  async use<T>(path: string, create: boolean, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    let pooled = this.handles.get(path);
    if (pooled) {
      this.handles.delete(path);
    } else {
      const flags = create ? constants.O_RDWR | constants.O_CREAT : constants.O_RDWR;
      pooled = { handle: open(path, flags, 0o644), users: 0, discarded: false };
    }
    this.handles.set(path, pooled);
    pooled.users++;
    let handle: FileHandle;
    try {
      handle = await pooled.handle;
      pooled.opened = handle;
    } catch (error) {
      pooled.users--;
      if (this.handles.get(path) === pooled) this.handles.delete(path); // the open failed: the next use tries again
      throw error;
    }
    try {
      return await work(handle);
    } finally {
      pooled.users--;
      if (pooled.discarded && pooled.users === 0) await closeQuietly(pooled.handle);
      await this.closeIdleOverLimit();
    }
  }

  /**
   * The handle of `path` if it is open already (and not discarded), for a synchronous use that
   * ends before the caller yields: nothing can close it meanwhile. Counts as a use (LRU order).
   */
  openHandle(path: string): FileHandle | undefined {
    const pooled = this.handles.get(path);
    if (!pooled?.opened) return undefined;
    this.handles.delete(path);
    this.handles.set(path, pooled);
    return pooled.opened;
  }

  /** The file at `path` was deleted or replaced: its handle is closed once nobody uses it. */
  async discard(path: string): Promise<void> {
    const pooled = this.handles.get(path);
    if (!pooled) return;
    this.handles.delete(path);
    pooled.discarded = true;
    if (pooled.users === 0) await closeQuietly(pooled.handle);
  }

  get openCount(): number {
    return this.handles.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    for (const pooled of all) await closeQuietly(pooled.handle);
  }

  private async closeIdleOverLimit(): Promise<void> {
    let excess = this.handles.size - this.idleHandlesMax;
    if (excess <= 0) return;
    for (const [path, pooled] of this.handles) {
      if (excess <= 0) break;
      if (pooled.users > 0) continue;
      this.handles.delete(path);
      excess--;
      await closeQuietly(pooled.handle);
    }
  }
}

async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // the open failed (reported to its user) or the handle is already closed
  }
}
