// Temporary folders for tests, removed at the end unless RMQ_KEEP_TEMP=1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `rmq-${prefix}-`));
  return {
    path,
    remove: () => {
      if (process.env.RMQ_KEEP_TEMP !== '1') rmSync(path, { recursive: true, force: true });
    },
  };
}
