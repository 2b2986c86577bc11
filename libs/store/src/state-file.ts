// Small JSON state files (topics, consumer offsets, checkpoints) written atomically: a temp file
// is written and fsynced, then renamed over the old one, then the folder is fsynced. A crash
// leaves either the old or the new file, never half of one. Writes of one path are serialised.
import { open, readFile, rename } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { latencyProbe } from '@rmq/base';

/** Writes in flight per path: a second write of the same file waits for the first (one temp file each). */
const writesInFlight = new Map<string, Promise<void>>();

/** `mode` (e.g. 0o600 for secrets) is set on the new file before any byte is written. */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const previous = writesInFlight.get(path) ?? Promise.resolve();
  const write = previous.catch(() => undefined).then(() => replaceFile(path, data, options.mode));
  writesInFlight.set(path, write);
  void write.catch(() => undefined).finally(() => {
    if (writesInFlight.get(path) === write) writesInFlight.delete(path);
  });
  return write;
}

async function replaceFile(path: string, data: string | Uint8Array, mode: number | undefined): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w', mode);
  try {
    // open's mode applies only to a file it creates; a temp file left by a crash keeps its own.
    if (mode !== undefined) await file.chmod(mode);
    await file.writeFile(data);
    await latencyProbe.timeSync(`${basename(path)} datasync`, () => file.datasync());
  } finally {
    await file.close();
  }
  await latencyProbe.timeSync(`${basename(path)} rename`, () => rename(temp, path));
  const folder = await open(dirname(path), 'r');
  try {
    await latencyProbe.timeSync(`${basename(path)} folder fsync`, () => folder.sync());
  } finally {
    await folder.close();
  }
}

export async function writeJsonAtomic(path: string, value: unknown, options: { mode?: number } = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', options);
}

/** Reads a JSON state file; undefined when it does not exist. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
