// The files of one consume queue: `consumequeue/<topic>/<queueId>/<first queue offset, 20 digits>`,
// each holding `entriesPerFile` entries of 20 bytes at most; entry n sits in the file starting at
// n - n % entriesPerFile, at byte (n % entriesPerFile) * 20 (see docs/design/data-file.md). Reads
// and writes go through the store's FileHandlePool; nothing here is held in memory.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { latencyProbe } from '@rmq/base';
import type { FileHandlePool } from './file-handle-pool';
import { nodeFileIo, type FileIo } from './file-io';
import type { SyncReads } from './sync-reads';

export const CONSUME_QUEUE_ENTRY_BYTES = 20;

const QUEUE_FILE_NAME = /^\d{20}$/;

export class QueueFiles {
  private dirMade = false;

  constructor(
    readonly dir: string,
    readonly entriesPerFile: number,
    private readonly pool: FileHandlePool,
    private readonly fileIo: FileIo = nodeFileIo,
    private readonly syncReads?: SyncReads,
  ) {}

  /** The queue offset of the first entry of the file holding entry `queueOffset`. */
  fileStartOf(queueOffset: number): number {
    return queueOffset - (queueOffset % this.entriesPerFile);
  }

  pathOf(fileStart: number): string {
    return join(this.dir, String(fileStart).padStart(20, '0'));
  }

  /** File starts on disk in order (none when the directory is missing). */
  async list(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((name) => QUEUE_FILE_NAME.test(name)).map(Number).sort((a, b) => a - b);
  }

  /** Entries the file starting at `fileStart` holds whole (a torn last entry is not counted). */
  async entryCountOf(fileStart: number): Promise<number> {
    return Math.floor((await stat(this.pathOf(fileStart))).size / CONSUME_QUEUE_ENTRY_BYTES);
  }

  /**
   * Up to `count` entries from `queueOffset`, never past the end of its file: fewer when the file
   * ends first. ENOENT when the file does not exist.
   */
  async read(queueOffset: number, count: number): Promise<Buffer> {
    const fileStart = this.fileStartOf(queueOffset);
    const wanted = Math.min(count, fileStart + this.entriesPerFile - queueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    const bytes = Buffer.allocUnsafe(wanted);
    const { bytesRead } = await this.pool.use(this.pathOf(fileStart), false, (file) =>
      file.read(bytes, 0, wanted, (queueOffset - fileStart) * CONSUME_QUEUE_ENTRY_BYTES));
    return bytes.subarray(0, bytesRead - (bytesRead % CONSUME_QUEUE_ENTRY_BYTES));
  }

  /**
   * As read(), on the main thread (sync-reads.ts), for entries the page cache holds; undefined when
   * synchronous reads are off for now or the file is not open yet (read() then).
   */
  readSync(queueOffset: number, count: number): Buffer | undefined {
    if (!this.syncReads?.allowed()) return undefined;
    const fileStart = this.fileStartOf(queueOffset);
    const path = this.pathOf(fileStart);
    const file = this.pool.openHandle(path);
    if (!file) return undefined;
    const wanted = Math.min(count, fileStart + this.entriesPerFile - queueOffset) * CONSUME_QUEUE_ENTRY_BYTES;
    const bytes = Buffer.allocUnsafe(wanted);
    const bytesRead = this.syncReads.run(() => this.fileIo.readSync(path, file.fd, bytes, 0, wanted, (queueOffset - fileStart) * CONSUME_QUEUE_ENTRY_BYTES));
    return bytes.subarray(0, bytesRead - (bytesRead % CONSUME_QUEUE_ENTRY_BYTES));
  }

  /** Writes whole entries starting at `queueOffset`, across files as needed; each touched file is fdatasynced. */
  async write(queueOffset: number, entries: Buffer): Promise<void> {
    if (!this.dirMade) {
      await mkdir(this.dir, { recursive: true });
      this.dirMade = true;
    }
    let at = queueOffset;
    let position = 0;
    while (position < entries.length) {
      const fileStart = this.fileStartOf(at);
      const bytes = entries.subarray(position, position + (fileStart + this.entriesPerFile - at) * CONSUME_QUEUE_ENTRY_BYTES);
      const path = this.pathOf(fileStart);
      await this.pool.use(path, true, async (file) => {
        let written = 0;
        while (written < bytes.length) {
          written += await this.fileIo.write(path, file, bytes, written, bytes.length - written, (at - fileStart) * CONSUME_QUEUE_ENTRY_BYTES + written);
        }
        await latencyProbe.timeSync('queue file datasync', () => this.fileIo.datasync(path, file));
      });
      position += bytes.length;
      at += bytes.length / CONSUME_QUEUE_ENTRY_BYTES;
    }
  }

  /** Drops every entry from `queueOffset` on: later files are deleted, the one holding it is cut there. */
  async cutFrom(queueOffset: number): Promise<void> {
    const cutStart = this.fileStartOf(queueOffset);
    for (const fileStart of await this.list()) {
      if (fileStart > cutStart || (fileStart === cutStart && queueOffset === cutStart)) await this.delete(fileStart);
    }
    if (queueOffset > cutStart) {
      await this.pool.use(this.pathOf(cutStart), true, async (file) => {
        await file.truncate((queueOffset - cutStart) * CONSUME_QUEUE_ENTRY_BYTES);
        await file.datasync();
      });
    }
  }

  async delete(fileStart: number): Promise<void> {
    const path = this.pathOf(fileStart);
    await this.pool.discard(path);
    await rm(path, { force: true });
  }

  /** Deletes every file of the queue (it is rebuilt from the log). */
  async deleteAll(): Promise<void> {
    for (const fileStart of await this.list()) await this.pool.discard(this.pathOf(fileStart));
    await rm(this.dir, { recursive: true, force: true });
    this.dirMade = false;
  }
}
