// The key that signs receipt handles, created once per broker and kept in its data folder so
// handles issued before a restart can still be verified (and refused as stale, not as forged).
import { randomBytes } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@rmq/store';

const SECRET_BYTES = 32;
const SECRET_FILE_MODE = 0o600;

export async function loadReceiptSecret(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, 'config', 'receipt-secret');
  try {
    const secret = await readFile(path);
    if (secret.length === SECRET_BYTES) {
      await chmod(path, SECRET_FILE_MODE); // written 0644 by older versions
      return secret;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(SECRET_BYTES);
  await writeFileAtomic(path, secret, { mode: SECRET_FILE_MODE });
  return secret;
}
