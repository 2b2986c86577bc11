// One network call per command: open a client, call with a deadline, close. A failed call becomes
// a CliError with one line that says what was attempted, what came back and, where it helps, what
// to do; the stable rmq error code is shown when the server sent one.
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { channelCredentials, createClient, errorCodeOf, signedMetadata, type ServiceClient } from '@rmq/contracts';
import { CliError } from './cli-error';
import { clientTls, credentialsFromEnv } from './credentials';

export interface CallTarget {
  /** What the command was doing, e.g. "cannot create topic T". */
  what: string;
  /** Who was asked: "broker" or "name server". */
  role: string;
  address: string;
  timeoutMs: number;
}

export async function callOnce<S extends GenServiceMethods, R>(
  service: GenService<S>,
  target: CallTarget,
  call: (client: ServiceClient<S>, options: { deadlineMs: number; metadata?: Metadata }) => Promise<R>,
): Promise<R> {
  const credentials = credentialsFromEnv();
  const metadata = credentials ? signedMetadata(credentials, Date.now()) : undefined;
  const tls = clientTls();
  const client = createClient(service, target.address, {}, channelCredentials(tls));
  try {
    return await call(client, { deadlineMs: target.timeoutMs, ...(metadata ? { metadata } : {}) });
  } catch (error) {
    throw isServiceError(error) ? new CliError(describeCallError(error, target)) : error;
  } finally {
    client.close();
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === 'number' && 'details' in error;
}

export function describeCallError(error: ServiceError, target: CallTarget): string {
  const details = oneLine(error.details || error.message);
  const rmqCode = errorCodeOf(error);
  if (rmqCode === 'UNAUTHORIZED') return `${target.what}: ${details} [${rmqCode}]; set RMQ_ACCESS_KEY and RMQ_SECRET_FILE (or RMQ_SECRET_KEY)`;
  if (rmqCode) return `${target.what}: ${details} [${rmqCode}]`;
  const at = `the ${target.role} at ${target.address}`;
  switch (error.code) {
    case status.DEADLINE_EXCEEDED:
      return `${target.what}: ${at} did not answer within ${target.timeoutMs} ms (is it overloaded? raise --timeout-ms to wait longer)`;
    case status.UNAVAILABLE: {
      const tls = tlsHandshakeProblem(details);
      if (tls) return `${target.what}: the TLS handshake with ${at} failed (${tls.problem}); ${tls.hint}`;
      return `${target.what}: cannot reach ${at} (${connectionProblem(details)}); is it running? \`npm start\` starts a local stack`;
    }
    case status.UNIMPLEMENTED:
      return `${target.what}: ${target.address} does not serve this call (${details}); is it really a ${target.role}?`;
    default:
      return `${target.what}: ${details} [${status[error.code] ?? `gRPC status ${error.code}`}]`;
  }
}

/** grpc-js says "No connection established. Last error: Error: connect ECONNREFUSED h:p. Resolution note: "; keep the cause. */
export function connectionProblem(details: string): string {
  const match = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(details);
  return match?.[1] || details;
}

/** A failed TLS handshake in a few words, and what to give (OpenSSL's "...:tlsv13 alert certificate required:..." -> "certificate required"). */
export function tlsHandshakeProblem(details: string): { problem: string; hint: string } | undefined {
  const alert = /alert ([a-z ]+?)(?::|\s*$)/i.exec(details)?.[1];
  if (alert) {
    const hint = /certificate required/i.test(alert)
      ? 'it asks for a client certificate: give --tls-cert-file and --tls-key-file'
      : 'it refused the certificate given with --tls-cert-file: it must be signed by the CA of its --tls-client-ca-file';
    return { problem: alert, hint };
  }
  const untrusted = /(self[- ]signed certificate[a-z ]*|unable to (?:verify|get)[a-z ]*certificate[a-z ]*|certificate has expired|does not match certificate's altnames[^.;)]*)/i.exec(details)?.[1]?.trim();
  if (untrusted) return { problem: untrusted, hint: 'give --tls-ca-file with the CA that signed its certificate, which must name the address dialled' };
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
