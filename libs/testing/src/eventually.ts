// Waiting for a condition with a deadline: the only way our tests synchronise.
import { delay } from '@rmq/base';

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** Retries `check` until it returns (or resolves) without throwing; rethrows its last error at the deadline. */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`condition not met within ${timeoutMs} ms: ${message}`);
      }
      await delay(intervalMs);
    }
  }
}

/**
 * The opposite wait: `check` must keep passing for the whole of `durationMs` (checked every
 * `intervalMs`); throws at its first failure. For "nothing happens while ..." assertions.
 */
export async function alwaysFor(check: () => void | Promise<void>, options: { durationMs: number; intervalMs?: number }): Promise<void> {
  const intervalMs = options.intervalMs ?? 50;
  const until = Date.now() + options.durationMs;
  for (;;) {
    await check();
    if (Date.now() >= until) return;
    await delay(intervalMs);
  }
}
