// One network call per command: open a client, call with a deadline, close. A failed call becomes
// a CliError with one line that says what was attempted, what came back and, where it helps, what
// to do; the stable rmq error code is shown when the server sent one.
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { channelCredentials, createClient, errorCodeOf, signedMetadata, type ServiceClient } from '@rmq/contracts';
import { CliError } from './cli-error';
import { credentialsFromEnv, tlsFromEnv } from './credentials';

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
  const tls = tlsFromEnv();
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
    case status.UNAVAILABLE:
      return `${target.what}: cannot reach ${at} (${connectionProblem(details)}); is it running? \`npm start\` starts a local stack`;
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

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
