// grpc-js credentials from PEM bytes: TLS (and mutual TLS) when given, plaintext otherwise.
import * as grpc from '@grpc/grpc-js';

export interface ServerTls {
  certPem: Buffer;
  keyPem: Buffer;
  /** Mutual TLS: callers must show a certificate signed by this CA. */
  clientCaPem?: Buffer;
}

export interface ClientTls {
  /** Roots to trust; undefined: the system's (and GRPC_DEFAULT_SSL_ROOTS_FILE_PATH). */
  caPem?: Buffer;
  /** Presented for mutual TLS. */
  certPem?: Buffer;
  keyPem?: Buffer;
}

export function serverCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.clientCaPem ?? null, [{ cert_chain: tls.certPem, private_key: tls.keyPem }], tls.clientCaPem !== undefined);
}

export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.caPem ?? null, tls.keyPem ?? null, tls.certPem ?? null);
}
