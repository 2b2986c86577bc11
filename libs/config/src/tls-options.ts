// TLS options every app with a gRPC port shares, and the files they name read once at start.
// Serving: --tls-cert-file and --tls-key-file (the key 0600). Calling other apps:
// --tls-ca-file (the roots to trust; without it calls are plaintext). Mutual TLS:
// --tls-client-ca-file makes callers show a certificate that CA signed; our apps then present
// their own certificate when they call.
import { readFileSync } from 'node:fs';
import { ConfigError } from './config';
import { readSecretFile } from './secret-file';

export const tlsOptionsSchema = {
  tlsCertFile: { type: 'string', default: '', help: 'PEM certificate chain: serve gRPC over TLS (with --tls-key-file); it must name the host clients dial' },
  tlsKeyFile: { type: 'string', default: '', help: 'PEM private key of --tls-cert-file (mode 0600)' },
  tlsClientCaFile: { type: 'string', default: '', help: 'mutual TLS: callers must show a certificate signed by this PEM CA' },
  tlsCaFile: { type: 'string', default: '', help: 'PEM CA to trust when calling other apps over TLS; empty: plaintext calls' },
} as const;

export interface TlsFiles {
  /** Set when the app serves TLS. */
  server?: { certPem: Buffer; keyPem: Buffer; clientCaPem?: Buffer };
  /** Set when the app calls others over TLS; cert and key are presented for mutual TLS. */
  client?: { caPem: Buffer; certPem?: Buffer; keyPem?: Buffer };
}

export function readTlsFiles(options: { tlsCertFile: string; tlsKeyFile: string; tlsClientCaFile: string; tlsCaFile: string }): TlsFiles {
  if (Boolean(options.tlsCertFile) !== Boolean(options.tlsKeyFile)) throw new ConfigError('--tls-cert-file and --tls-key-file go together');
  if (options.tlsClientCaFile && !options.tlsCertFile) throw new ConfigError('--tls-client-ca-file needs --tls-cert-file and --tls-key-file');
  const certPem = options.tlsCertFile ? readPem(options.tlsCertFile, '--tls-cert-file') : undefined;
  const keyPem = options.tlsKeyFile ? Buffer.from(readSecretFile(options.tlsKeyFile, '--tls-key-file') + '\n') : undefined;
  const files: TlsFiles = {};
  if (certPem && keyPem) {
    files.server = { certPem, keyPem, ...(options.tlsClientCaFile ? { clientCaPem: readPem(options.tlsClientCaFile, '--tls-client-ca-file') } : {}) };
  }
  if (options.tlsCaFile) files.client = { caPem: readPem(options.tlsCaFile, '--tls-ca-file'), certPem, keyPem };
  return files;
}

function readPem(path: string, option: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${option}: ${path} is not PEM (no -----BEGIN line)`);
  return pem;
}
