// Invariant checks that are always on. A broken invariant is a bug: the process should stop
// with the state attached, not log and continue.

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(details ? `${message} ${JSON.stringify(details, bigintSafe)}` : message);
  }
}

export function assert(condition: unknown, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new InvariantError(message, details);
}

export function unreachable(value: never, what: string): never {
  throw new InvariantError(`unreachable ${what}`, { value: String(value) });
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
