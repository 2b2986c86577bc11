// When an open transaction is checked back with its producer (pure): the first check when it
// is `firstMs` old (the producer's orphaned_transaction_recovery_duration, or the broker's
// default), then after doubling intervals capped at `intervalMaxMs`. Ages count from the half's
// birth (from later after a restart: transaction-service.ts), so no check count is stored.

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

/** Checks tried before a transaction no producer could be asked about expires: checksMax more. */
export function orphanAttemptsMax(policy: Pick<CheckPolicy, 'checksMax'>): number {
  return 2 * policy.checksMax;
}
