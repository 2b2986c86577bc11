// For this lib's tests only: @rmq/testing's `eventually` cannot be used here, since @rmq/testing depends on contracts.
import { setTimeout as delay } from 'node:timers/promises';

/** Retries `check` until it passes, for at most 5 s. */
export async function eventually(check: () => void): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await delay(10);
    }
  }
}
