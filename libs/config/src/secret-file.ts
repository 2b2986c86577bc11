// Secrets (the cluster secret, an admin's secret, TLS keys) come from files, never from flags
// that `ps` shows. A file others may read is refused, as ssh refuses a private key.
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from './config';

/** The trimmed text of a secret file; a ConfigError naming `option` when it is missing, empty or not 0600-like. */
export function readSecretFile(path: string, option: string): string {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(`${option}: ${path} may be read by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`);
  }
  if (!text) throw new ConfigError(`${option}: ${path} is empty`);
  return text;
}
