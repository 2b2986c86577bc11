// Who the CLI calls as, when the cluster runs with --auth: RMQ_ACCESS_KEY and the secret from
// RMQ_SECRET_FILE (a 0600 file) or RMQ_SECRET_KEY. Every call is signed as the official clients sign.
// How it connects: over TLS with --tls-ca-file (the CA to trust), presenting a certificate with
// --tls-cert-file and --tls-key-file (mutual TLS, e.g. a controller with --tls-client-ca-file).
import type { Credentials } from '@rmq/base';
import type { ClientTls } from '@rmq/contracts';
import { ConfigError, readSecretFile, readTlsFiles } from '@rmq/config';
import { CliError, EXIT_USAGE } from './cli-error';

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

/** The TLS files of the command line (the global options, or RMQ_TLS_CA_FILE, RMQ_TLS_CERT_FILE, RMQ_TLS_KEY_FILE). */
export interface TlsFileOptions {
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** Reads the files once: TLS when any is given (the system's roots without --tls-ca-file), plaintext otherwise. */
export function readClientTls(options: TlsFileOptions): ClientTls | undefined {
  try {
    const files = readTlsFiles({ tlsCaFile: options.tlsCaFile ?? '', tlsCertFile: options.tlsCertFile ?? '', tlsKeyFile: options.tlsKeyFile ?? '', tlsClientCaFile: '' });
    if (files.client) return files.client;
    return files.server ? { certPem: files.server.certPem, keyPem: files.server.keyPem } : undefined;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT_USAGE);
    throw error;
  }
}

let currentTls: ClientTls | undefined;

/** Set once per run, before the command's action (program.ts). */
export function useClientTls(tls: ClientTls | undefined): void {
  currentTls = tls;
}

/** How this run connects: undefined for plaintext. */
export function clientTls(): ClientTls | undefined {
  return currentTls;
}

/** Credentials and TLS for our SDK's clients. */
export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): { credentials?: Credentials; tls?: ClientTls } {
  return { credentials: credentialsFromEnv(env), tls: clientTls() };
}
