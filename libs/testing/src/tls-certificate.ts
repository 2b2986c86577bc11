// A throwaway self-signed certificate for TLS tests, made with the openssl command (Debian's
// openssl package; .ci/run installs it when missing). It names 127.0.0.1 and localhost, so
// clients that check the host name accept it once they trust it.
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  certPem: Buffer;
  keyPem: Buffer;
}

export function makeSelfSignedCertificate(dir: string, name = 'server'): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, certPem: readFileSync(certFile), keyPem: readFileSync(keyFile) };
}
