// The one error class for failures a caller should see. The code says what happened (stable,
// matched by programs); the message says it to a person.
import { ERRORS, type ErrorCode, type ErrorKind } from './error-catalogue';

export type ErrorParams = Record<string, string | number | bigint | boolean>;

export class RmqError extends Error {
  override readonly name = 'RmqError';
  readonly kind: ErrorKind;

  constructor(
    readonly code: ErrorCode,
    readonly params: ErrorParams = {},
  ) {
    super(render(ERRORS[code].text, params));
    this.kind = ERRORS[code].kind;
  }
}

export function isRmqError(error: unknown, code?: ErrorCode): error is RmqError {
  return error instanceof RmqError && (code === undefined || error.code === code);
}

function render(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}
