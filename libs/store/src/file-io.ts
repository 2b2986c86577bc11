// The commit log's writes and fdatasyncs go through this seam, so tests can inject the errors a
// disk gives (EIO, ENOSPC, EMFILE) and check that the store refuses writes while they last and
// resumes after, with nothing lost.
import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export interface FileIo {
  /** Writes `buffers` at `position` of the file; returns the bytes written (maybe fewer). */
  writev(fd: number, buffers: Buffer[], position: number): number;
  datasync(file: FileHandle): Promise<void>;
}

export const nodeFileIo: FileIo = {
  writev: (fd, buffers, position) => writevSync(fd, buffers, position),
  datasync: (file) => file.datasync(),
};

/** Errors a disk or the OS gives for a while and then stops giving: retried, never fatal. */
const TRANSIENT_CODES = new Set(['EIO', 'ENOSPC', 'EDQUOT', 'EMFILE', 'ENFILE', 'EAGAIN', 'EINTR', 'ENOMEM']);

export function isTransientIoError(error: unknown): boolean {
  return TRANSIENT_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}
