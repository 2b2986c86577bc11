// What our SDK throws when a broker refuses a request: the apache.rocketmq.v2.Code by name (the
// stable part to match on) and the broker's message for a person.
import { v2 } from '@rmq/contracts';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    /** The status code's name, e.g. 'TOPIC_NOT_FOUND'; 'TRANSPORT' when the call itself failed. */
    readonly code: string,
    /** The text without the code, for a person. */
    readonly reason: string,
  ) {
    super(`[${code}] ${reason}`);
  }

  static of(status: v2.Status | undefined, what: string): ClientError {
    if (!status) return new ClientError('CODE_UNSPECIFIED', `${what}: the reply has no status`);
    return new ClientError(v2.Code[status.code] ?? String(status.code), `${what}: ${status.message}`);
  }
}

/** Codes after which the same request may succeed on another broker (or the same, later). */
const RETRIABLE = new Set<v2.Code>([
  v2.Code.INTERNAL_ERROR,
  v2.Code.INTERNAL_SERVER_ERROR,
  v2.Code.HA_NOT_AVAILABLE,
  v2.Code.PROXY_TIMEOUT,
  v2.Code.MASTER_PERSISTENCE_TIMEOUT,
  v2.Code.SLAVE_PERSISTENCE_TIMEOUT,
  v2.Code.TOO_MANY_REQUESTS,
  v2.Code.TOPIC_NOT_FOUND, // a stale route: the topic may live on the other brokers
]);

export function isRetriable(code: v2.Code): boolean {
  return RETRIABLE.has(code);
}

export function isOk(status: v2.Status | undefined): boolean {
  return status === undefined || status.code === v2.Code.OK || status.code === v2.Code.MULTIPLE_RESULTS;
}
