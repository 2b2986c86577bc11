// What a command may touch besides the network: its two output streams and the clock. Tests pass
// their own to capture output and fix the time.

export interface Io {
  /** Writes text to stdout; a newline is added. */
  out(text: string): void;
  /** Writes text to stderr; a newline is added. */
  err(text: string): void;
  nowMs(): number;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  nowMs: () => Date.now(),
};
