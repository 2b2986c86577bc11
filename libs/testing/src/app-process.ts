// Starts one of our apps as a real child process on loopback and waits until it logs "ready".
// Ports are 0 (the OS picks) unless the test fixes them; the ready line reports what was bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type AppName = 'name-server' | 'broker' | 'replication' | 'metrics';

export interface AppProcess {
  name: string;
  pid: number;
  /** Addresses from the ready line, e.g. { grpc: '127.0.0.1:40123', http: '127.0.0.1:40124' }. */
  endpoints: Record<string, string>;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const REPO_ROOT = join(__dirname, '../../..');
const running = new Set<AppProcess>();

export function appMainPath(app: AppName): string {
  return join(REPO_ROOT, 'apps', app, 'dist/main.js');
}

export interface StartAppOptions {
  readyTimeoutMs?: number;
  label?: string;
  /** Added to the test's environment (e.g. OTEL_* variables). */
  env?: Record<string, string>;
}

export async function startApp(app: AppName, args: string[], options: StartAppOptions = {}): Promise<AppProcess> {
  const main = appMainPath(app);
  if (!existsSync(main)) throw new Error(`${main} is missing; the jest global setup builds it (node tools/build-apps.mjs)`);
  const child = spawn(process.execPath, ['--enable-source-maps', main, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RMQ_LOG_LEVEL: process.env.RMQ_LOG_LEVEL ?? 'info', ...options.env },
  });
  const label = options.label ?? app;
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (process.env.RMQ_TEST_LOGS === '1') process.stderr.write(`[${label}] ${chunk}`);
  });
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (process.env.RMQ_TEST_LOGS === '1') process.stderr.write(`[${label}] ${line}\n`);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'ready') resolve(entry.endpoints as Record<string, string>);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`${label} exited (code ${code}, signal ${signal}) before it was ready:\n${stderr.join('')}\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)),
    );
  });
  const timeoutMs = options.readyTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} was not ready within ${timeoutMs} ms`)), timeoutMs);
  });
  const process_: AppProcess = {
    name: label,
    pid: child.pid!,
    endpoints: {},
    logs,
    child,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const result = await exited;
      running.delete(process_);
      return result;
    },
  };
  running.add(process_);
  try {
    process_.endpoints = await Promise.race([ready, timeout]);
  } catch (error) {
    child.kill('SIGKILL');
    running.delete(process_);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return process_;
}

/** Kills every app this test file started and has not stopped; call it in afterAll. */
export async function killAllApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.kill('SIGKILL')));
}
