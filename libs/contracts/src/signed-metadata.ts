// gRPC metadata that signs one call as RocketMQ 5 clients do (see @rmq/base request-signature).
import { Metadata } from '@grpc/grpc-js';
import { signedHeaders, type Credentials } from '@rmq/base';

/** Metadata signing a call made at `nowMs`; an empty Metadata without credentials. */
export function signedMetadata(credentials: Credentials | undefined, nowMs: number): Metadata {
  const metadata = new Metadata();
  if (!credentials) return metadata;
  for (const [name, value] of Object.entries(signedHeaders(credentials, nowMs))) metadata.set(name, value);
  return metadata;
}
