// The seam for the store's writes and flushes of its data files (commit log segments, consume
// queue files) and its synchronous reads of them (sync-reads.ts): tests pass a FileIo that fails like a
// bad or full disk does (EIO, ENOSPC) and check what the store answers. Opens, asynchronous reads,
// truncations and the small JSON files do not go through it.
import { readSync, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface FileIo {
  /** Synchronous positional gather write (the commit log's pwritev); the bytes written. */
  writevSync(path: string, fd: number, buffers: Buffer[], position: number): number;
  /** Positional write (queue files); the bytes written. */
  write(path: string, file: FileHandle, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  datasync(path: string, file: FileHandle): Promise<void>;
  /** Positional read on the main thread (bytes the page cache holds: sync-reads.ts); the bytes read. */
  readSync(path: string, fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
}

export const nodeFileIo: FileIo = {
  writevSync: (_path, fd, buffers, position) => writevSync(fd, buffers, position),
  write: async (_path, file, buffer, offset, length, position) => (await file.write(buffer, offset, length, position)).bytesWritten,
  datasync: (_path, file) => file.datasync(),
  readSync: (_path, fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
};

export type FileOperation = 'write' | 'datasync' | 'read';

/**
 * A FileIo that fails the operations `failWith` names an errno for (e.g. 'ENOSPC', 'EIO'), as the
 * kernel would, and passes the others to `base`. For tests.
 */
export function faultyFileIo(failWith: (operation: FileOperation, path: string) => string | undefined, base: FileIo = nodeFileIo): FileIo {
  const check = (operation: FileOperation, path: string) => {
    const code = failWith(operation, path);
    if (code) throw Object.assign(new Error(`${code}: injected ${operation} failure on ${path}`), { code, syscall: operation });
  };
  return {
    writevSync: (path, fd, buffers, position) => {
      check('write', path);
      return base.writevSync(path, fd, buffers, position);
    },
    write: async (path, file, buffer, offset, length, position) => {
      check('write', path);
      return base.write(path, file, buffer, offset, length, position);
    },
    datasync: async (path, file) => {
      check('datasync', path);
      return base.datasync(path, file);
    },
    readSync: (path, fd, buffer, offset, length, position) => {
      check('read', path);
      return base.readSync(path, fd, buffer, offset, length, position);
    },
  };
}

/** A FileIo whose fdatasyncs can be held back (gatedFileIo). */
export interface GatedFileIo extends FileIo {
  /** From now on, fdatasyncs of the gated paths wait (the writes before them go through). */
  hold(): void;
  /** Lets the waiting fdatasyncs and every later one go. */
  release(): void;
  /** fdatasyncs waiting now. */
  readonly waiting: number;
}

/**
 * A FileIo whose fdatasyncs of the paths `gated` picks wait while held, as on a slow disk, and
 * passes everything else to `base`: for tests of what happens between written and durable.
 */
export function gatedFileIo(gated: (path: string) => boolean, base: FileIo = nodeFileIo): GatedFileIo {
  let held = false;
  let waiters: (() => void)[] = [];
  return {
    writevSync: (path, fd, buffers, position) => base.writevSync(path, fd, buffers, position),
    write: (path, file, buffer, offset, length, position) => base.write(path, file, buffer, offset, length, position),
    datasync: async (path, file) => {
      if (held && gated(path)) await new Promise<void>((resolve) => waiters.push(resolve));
      return base.datasync(path, file);
    },
    readSync: (path, fd, buffer, offset, length, position) => base.readSync(path, fd, buffer, offset, length, position),
    hold: () => void (held = true),
    release: () => {
      held = false;
      const go = waiters;
      waiters = [];
      for (const resolve of go) resolve();
    },
    get waiting() {
      return waiters.length;
    },
  };
}

/** Errors a disk or the OS gives for a while and then stops giving: retried, never fatal. */
const TRANSIENT_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EAGAIN', 'EINTR', 'ENOMEM']);

export function isTransientIoError(error: unknown): boolean {
  return TRANSIENT_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}
