// When an open transaction is checked back with its producer (pure): the first check when it
// is `firstMs` old (the producer's orphaned_transaction_recovery_duration, or the broker's
// default), then after doubling intervals capped at `intervalMaxMs`. Derived from the half
// message's age alone, so a restart resumes the same schedule without storing check counts.

export interface CheckPolicy {
  firstMs: number;
  intervalMaxMs: number;
  checksMax: number;
}

/** Age at which check number `index` (0-based) is due. */
export function checkAgeMs(index: number, policy: Pick<CheckPolicy, 'firstMs' | 'intervalMaxMs'>): number {
  let ageMs = policy.firstMs;
  for (let i = 1; i <= index; i++) ageMs += Math.min(policy.firstMs * 2 ** i, policy.intervalMaxMs);
  return ageMs;
}

/** Checks that are due by `ageMs` (at most checksMax). */
export function checksDueBy(ageMs: number, policy: CheckPolicy): number {
  let count = 0;
  while (count < policy.checksMax && checkAgeMs(count, policy) <= ageMs) count++;
  return count;
}
