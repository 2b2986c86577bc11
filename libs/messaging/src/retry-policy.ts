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

/** A consumer group's retry policy, as RocketMQ 5 names them. */
export type RetryPolicy =
  | { kind: 'customized'; delaysMs: number[] }
  | { kind: 'exponential'; initialMs: number; maxMs: number; multiplier: number };

export const RETRY_POLICY_DEFAULT: RetryPolicy = { kind: 'customized', delaysMs: [...RETRY_DELAYS_MS_DEFAULT] };

/** The pause after the `attempt`-th delivery failed under `policy`, never shorter than `requestedMs`. */
export function retryPolicyDelayMs(policy: RetryPolicy, attempt: number, requestedMs = 0): number {
  if (policy.kind === 'customized') return retryDelayMs(policy.delaysMs, attempt, requestedMs);
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const delayMs = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** (attempt - 1));
  return Math.max(Math.round(delayMs), requestedMs);
}

/**
 * Parses `customized:10s,30s,1m`, `exponential:<initial>,<max>,<multiplier>` (e.g.
 * `exponential:1s,1m,2`), or a bare list of delays (customized).
 */
export function parseRetryPolicy(text: string): RetryPolicy {
  const [kind, rest] = text.includes(':') ? [text.slice(0, text.indexOf(':')).trim(), text.slice(text.indexOf(':') + 1)] : ['customized', text];
  if (kind === 'customized') {
    const delaysMs = parseRetryDelays(rest);
    return { kind, delaysMs };
  }
  if (kind !== 'exponential') throw invalidPolicy(text, `the kind is "customized" or "exponential", not "${kind}"`);
  const parts = rest.split(',').map((part) => part.trim());
  if (parts.length !== 3) throw invalidPolicy(text, 'exponential needs <initial>,<max>,<multiplier>, e.g. exponential:1s,1m,2');
  const [initialMs, maxMs] = parseRetryDelays(`${parts[0]},${parts[1]}`);
  const multiplier = Number(parts[2]);
  if (!Number.isFinite(multiplier) || multiplier < 1 || multiplier > 10) throw invalidPolicy(text, `the multiplier must be a number from 1 to 10, got "${parts[2]}"`);
  if (maxMs < initialMs) throw invalidPolicy(text, 'the maximum delay is below the initial one');
  return { kind, initialMs, maxMs, multiplier };
}

/** The policy as parseRetryPolicy reads it back. */
export function formatRetryPolicy(policy: RetryPolicy): string {
  const duration = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`);
  return policy.kind === 'customized'
    ? `customized:${policy.delaysMs.map(duration).join(',')}`
    : `exponential:${duration(policy.initialMs)},${duration(policy.maxMs)},${policy.multiplier}`;
}

function invalidPolicy(text: string, reason: string): RmqError {
  return new RmqError('BAD_REQUEST', { reason: `retry policy ${JSON.stringify(text)} is not valid: ${reason}` });
}
