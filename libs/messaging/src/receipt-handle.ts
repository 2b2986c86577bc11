// Receipt handles: opaque to clients, minted per delivery, and signed with the broker's secret
// so a forged or altered handle is refused instead of acking someone else's message. The
// delivery id ties a handle to one delivery: after a redelivery the old handle is stale.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RmqError } from '@rmq/base';

export interface ReceiptHandle {
  group: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  deliveryId: string;
  /**
   * Received by a push consumer (auto-renew): its ChangeInvisibleDuration is a nack, and the
   * group's retry schedule decides when the message comes back.
   */
  push?: boolean;
  /** Broadcast groups: the member (client id) whose progress the delivery belongs to. */
  member?: string;
}

const VERSION = 'r1';
const MAC_BYTES = 16;

export function encodeReceiptHandle(handle: ReceiptHandle, secret: Buffer): string {
  const fields: unknown[] = [VERSION, handle.group, handle.topic, handle.queueId, handle.queueOffset, handle.deliveryId];
  if (handle.push || handle.member !== undefined) fields.push(handle.push ? 1 : 0);
  if (handle.member !== undefined) fields.push(handle.member);
  const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
  return `${payload}.${mac(payload, secret)}`;
}

export function decodeReceiptHandle(text: string, secret: Buffer): ReceiptHandle {
  const [payload, signature, extra] = text.split('.');
  if (!payload || !signature || extra !== undefined) throw invalid('it is not a handle this broker issued');
  const expected = Buffer.from(mac(payload, secret));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid('its signature does not match (forged, altered, or from another broker)');
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid('it cannot be read');
  }
  // Six fields, a seventh with the push flag (0 or 1), an eighth with a broadcast member.
  if (!Array.isArray(fields) || fields[0] !== VERSION || fields.length < 6 || fields.length > 8) throw invalid('it has an unknown format');
  const [, group, topic, queueId, queueOffset, deliveryId, push, member] = fields as [string, string, string, number, number, string, number | undefined, string | undefined];
  const handle: ReceiptHandle = { group, topic, queueId, queueOffset, deliveryId };
  if (push === 1) handle.push = true;
  if (typeof member === 'string') handle.member = member;
  return handle;
}

function mac(payload: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES).toString('base64url');
}

function invalid(reason: string): RmqError {
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
}
