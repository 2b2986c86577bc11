// The recall handle a delay message's send returns: which schedule to cancel. It names the
// topic, the message id and the schedule's queue offset; RecallMessage checks all three against
// the stored schedule, so a made-up handle finds nothing to cancel.
import { RmqError } from '@rmq/base';

export interface RecallTarget {
  topic: string;
  messageId: string;
  /** Queue offset of the schedule in the timer topic. */
  scheduleQueueOffset: number;
}

const VERSION = 'rc1';

export function encodeRecallHandle(target: RecallTarget): string {
  return Buffer.from(JSON.stringify([VERSION, target.topic, target.messageId, target.scheduleQueueOffset])).toString('base64url');
}

export function decodeRecallHandle(handle: string): RecallTarget {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== VERSION || typeof parsed[1] !== 'string' || typeof parsed[2] !== 'string' || !Number.isSafeInteger(parsed[3]) || (parsed[3] as number) < 0) {
    throw new RmqError('INVALID_RECALL_HANDLE', { reason: 'it is not a handle this broker issued (use the recall handle returned when the delay message was sent)' });
  }
  return { topic: parsed[1], messageId: parsed[2], scheduleQueueOffset: parsed[3] as number };
}
