// Who the CLI calls as, when the cluster runs with --auth: RMQ_ACCESS_KEY and the secret from
// RMQ_SECRET_FILE (a 0600 file) or RMQ_SECRET_KEY. Every call is signed as the official clients sign.
// RMQ_TLS_CA_FILE: call over TLS, trusting that PEM CA.
import { readFileSync } from 'node:fs';
import type { Credentials } from '@rmq/base';
import type { ClientTls } from '@rmq/contracts';
import { readSecretFile } from '@rmq/config';
import { CliError } from './cli-error';

export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const accessKey = env.RMQ_ACCESS_KEY;
  if (!accessKey) return undefined;
  try {
    const secret = env.RMQ_SECRET_FILE ? readSecretFile(env.RMQ_SECRET_FILE, 'RMQ_SECRET_FILE') : env.RMQ_SECRET_KEY;
    if (!secret) throw new CliError('RMQ_ACCESS_KEY is set, but neither RMQ_SECRET_FILE nor RMQ_SECRET_KEY', 2);
    return { accessKey, secret };
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError((error as Error).message, 2);
  }
}


export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientTls | undefined {
  const path = env.RMQ_TLS_CA_FILE;
  if (!path) return undefined;
  try {
    return { caPem: readFileSync(path) };
  } catch (error) {
    throw new CliError(`RMQ_TLS_CA_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 2);
  }
}

/** Credentials and TLS for our SDK's clients, from the environment. */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): { credentials?: Credentials; tls?: ClientTls } {
  return { credentials: credentialsFromEnv(env), tls: tlsFromEnv(env) };
}
