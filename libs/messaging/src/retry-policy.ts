// When a message that was not consumed comes back: the group's retry schedule, as a list of
// delays indexed by the delivery attempt that failed (RocketMQ's 16 delay levels from level 3 on,
// 10 s up to 2 h). Attempts past the end of the list reuse its last delay. Pure, no clock.
import { RmqError } from '@rmq/base';

/** RocketMQ's default retry delays (messageDelayLevel from level 3: 10s 30s 1m ... 2h). */
export const RETRY_DELAYS_MS_DEFAULT: readonly number[] = [
  10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
].map((seconds) => seconds * 1000);

/** A retry schedule's bounds: a list longer than this or a delay above a day is a typo. */
export const RETRY_SCHEDULE_LIMITS = { delaysCountMax: 64, delayMsMax: 24 * 60 * 60 * 1000 } as const;

/**
 * How long a message stays invisible after its `attempt`-th delivery (1-based) failed.
 * Never shorter than `requestedMs` (a client may ask for a longer pause than the schedule).
 */
export function retryDelayMs(delaysMs: readonly number[], attempt: number, requestedMs = 0): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  if (delaysMs.length === 0) return Math.max(0, requestedMs);
  return Math.max(delaysMs[Math.min(attempt, delaysMs.length) - 1], requestedMs);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses "10s,30s,1m,2h" (units ms, s, m, h; a bare number is ms); "" means RocketMQ's default. */
export function parseRetryDelays(text: string): number[] {
  if (text.trim() === '') return [...RETRY_DELAYS_MS_DEFAULT];
  const delays = text.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(ms|s|m|h)?\s*$/.exec(part);
    if (!match) throw invalid(text, `"${part.trim()}" is not a duration such as 500ms, 10s, 1m or 2h`);
    return Number(match[1]) * UNIT_MS[match[2] ?? 'ms'];
  });
  if (delays.length > RETRY_SCHEDULE_LIMITS.delaysCountMax) throw invalid(text, `at most ${RETRY_SCHEDULE_LIMITS.delaysCountMax} delays`);
  const tooLong = delays.find((delayMs) => delayMs > RETRY_SCHEDULE_LIMITS.delayMsMax);
  if (tooLong !== undefined) throw invalid(text, `a delay of ${tooLong} ms is above the limit of ${RETRY_SCHEDULE_LIMITS.delayMsMax} ms`);
  return delays;
}

function invalid(text: string, reason: string): RmqError {
  return new RmqError('BAD_REQUEST', { reason: `retry delays ${JSON.stringify(text)} are not valid: ${reason}` });
}
