// The errors a consumer sees for a bad invisible time or a receipt handle that is not (or no
// longer) good, with the reason a person can act on.
import { RmqError } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';
import type { QueueConsumption } from './queue-consumption';

/**
 * An invisible time within [minMs, the limit's max]. A SimpleConsumer's minMs is the broker's
 * --invisible-ms-min (RocketMQ: 10 s); push consumers' nacks may ask for 0. One check, so the
 * range the error states is the one that applies to this consumer.
 */
export function checkInvisibleMs(invisibleMs: number, minMs: number = MESSAGING_LIMITS.invisibleMsMin): void {
  if (!Number.isFinite(invisibleMs) || invisibleMs < minMs || invisibleMs > MESSAGING_LIMITS.invisibleMsMax) {
    throw new RmqError('ILLEGAL_INVISIBLE_TIME', { durationMs: invisibleMs, minMs, maxMs: MESSAGING_LIMITS.invisibleMsMax });
  }
}

/** A handle of a broadcast member given by another client, or of no member given in a broadcast group (or the reverse). */
export function memberMismatch(group: string, expected: string | undefined): RmqError {
  const reason = expected === undefined ? `it was issued for broadcast consumption, and group ${group} is not consumed in broadcast mode` : `it was issued to another member of broadcast group ${group}`;
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
}

/** Why a handle's delivery is not the current one, as far as this broker can tell. */
export function staleHandle(state: QueueConsumption, queueOffset: number): RmqError {
  if (!state.current(queueOffset) && queueOffset >= state.nextOffset) {
    // Receives answer once their delivery records are written, not durable (decisions.md).
    const reason = 'this broker has no record of that delivery: it was lost when the broker\'s machine crashed or its slave took over just after the receive; the message will be delivered again';
    return new RmqError('INVALID_RECEIPT_HANDLE', { reason });
  }
  return new RmqError('INVALID_RECEIPT_HANDLE', { reason: 'the message was acknowledged or delivered again since this handle was issued' });
}
