// The transaction id a transactional send returns: the half message's topic, message id and
// queue offset. EndTransaction checks them against the stored half, so a made-up id ends nothing.
import { RmqError } from '@rmq/base';

export interface TransactionRef {
  topic: string;
  messageId: string;
  halfQueueOffset: number;
}

const VERSION = 'tx1';

export function encodeTransactionId(ref: TransactionRef): string {
  return Buffer.from(JSON.stringify([VERSION, ref.topic, ref.messageId, ref.halfQueueOffset])).toString('base64url');
}

export function decodeTransactionId(id: string): TransactionRef {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== VERSION || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string' || !Number.isSafeInteger(parsed[3]) || (parsed[3] as number) < 0) {
    throw new RmqError('INVALID_TRANSACTION_ID', { reason: 'it is not an id this broker issued (use the transaction id returned when the half message was sent)' });
  }
  return { topic: parsed[1], messageId: parsed[2], halfQueueOffset: parsed[3] as number };
}
