// The one error type a command throws to end the run: a single line for stderr and the exit
// code (1: the call failed; 2: the command line was wrong). Anything else reaching the top is a bug.

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILED,
  ) {
    super(message);
  }
}
