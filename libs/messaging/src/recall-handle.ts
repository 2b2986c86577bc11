// The recall handle a delay message's send returns: which schedule to cancel. It names the
// topic, the message id, the schedule's queue offset and the broker group (broker name) that
// holds the schedule; RecallMessage checks topic, id and offset against the stored schedule, so
// a made-up handle finds nothing to cancel. The group is a name, not a broker id or an endpoint:
// the schedule is in the group's log, so whoever is master of the group after a failover can
// cancel it, and a name server can send the recall there.
import { RmqError } from '@rmq/base';

export interface RecallTarget {
  topic: string;
  messageId: string;
  /** Queue offset of the schedule in the timer topic. */
  scheduleQueueOffset: number;
  /** The broker group whose log holds the schedule; undefined in handles issued before it was named (rc1). */
  brokerName?: string;
}

/** rc1: [version, topic, message id, offset]; rc2 adds the broker name. Both are read. */
const VERSION_WITHOUT_BROKER = 'rc1';
const VERSION = 'rc2';

export function encodeRecallHandle(target: RecallTarget): string {
  const fields = target.brokerName === undefined
    ? [VERSION_WITHOUT_BROKER, target.topic, target.messageId, target.scheduleQueueOffset]
    : [VERSION, target.topic, target.messageId, target.scheduleQueueOffset, target.brokerName];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

export function decodeRecallHandle(handle: string): RecallTarget {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(handle, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const fields = Array.isArray(parsed) ? parsed : [];
  const common = typeof fields[1] === 'string' && typeof fields[2] === 'string' && Number.isSafeInteger(fields[3]) && (fields[3] as number) >= 0;
  const withoutBroker = fields[0] === VERSION_WITHOUT_BROKER && fields.length === 4;
  const withBroker = fields[0] === VERSION && fields.length === 5 && typeof fields[4] === 'string' && fields[4] !== '';
  if (!common || !(withoutBroker || withBroker)) {
    throw new RmqError('INVALID_RECALL_HANDLE', { reason: 'it is not a handle this cluster issued (use the recall handle returned when the delay message was sent)' });
  }
  const target: RecallTarget = { topic: fields[1] as string, messageId: fields[2] as string, scheduleQueueOffset: fields[3] as number };
  return withBroker ? { ...target, brokerName: fields[4] as string } : target;
}
