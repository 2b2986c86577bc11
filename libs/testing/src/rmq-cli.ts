// The real rmq process (apps/cli/bin/rmq.js -> dist/main.js, bundled by jest's global setup).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const RMQ_BIN = join(__dirname, '../../../apps/cli/bin/rmq.js');
export const RMQ_RUN_TIMEOUT_MS = 20_000;

export interface RmqRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runRmq(args: readonly string[], env: Record<string, string> = {}): Promise<RmqRun> {
  // The developer's own RMQ_* settings must not leak into the run.
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['RMQ_BROKER', 'RMQ_NAME_SERVER', 'RMQ_TIMEOUT_MS'].includes(name)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [RMQ_BIN, ...args],
      { timeout: RMQ_RUN_TIMEOUT_MS, env: { ...baseEnv, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}
