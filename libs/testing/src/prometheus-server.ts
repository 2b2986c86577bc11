// Debian's real `prometheus` for tests: scrapes the given targets every second with the
// project's rules, on a free loopback port, and answers queries through its HTTP API.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually } from './eventually';
import { makeTempDir } from './temp-dir';

const PROMETHEUS = '/usr/bin/prometheus';
const REPO_ROOT = join(__dirname, '../../..');

export interface PrometheusServer {
  url: string;
  /** An instant query's samples (throws on a query Prometheus refuses). */
  query(expression: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The value of an instant query that returns exactly one sample; undefined while it returns none. */
  queryOne(expression: string): Promise<number | undefined>;
  /** Waits until every target is scraped successfully. */
  waitForTargetsUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPrometheus(jobs: Record<string, string[]>): Promise<PrometheusServer> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing: apt-get install prometheus (.ci/run installs it)`);
  const temp = makeTempDir('prometheus');
  const config = [
    'global: { scrape_interval: 1s, evaluation_interval: 1s }',
    `rule_files: [${JSON.stringify(join(REPO_ROOT, 'deploy/prometheus/rules.yml'))}]`,
    'scrape_configs:',
    ...Object.entries(jobs).map(([job, targets]) => `  - { job_name: ${job}, static_configs: [{ targets: ${JSON.stringify(targets)} }] }`),
  ].join('\n');
  writeFileSync(join(temp.path, 'prometheus.yml'), config);
  const port = await freePort();
  const child: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${join(temp.path, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(temp.path, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const api = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: unknown };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    temp.remove();
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with code ${child.exitCode}:\n${stderr.join('')}`);
      const status = (await fetch(`${url}/-/ready`)).status;
      if (status !== 200) throw new Error(`prometheus not ready (HTTP ${status})`);
    }, { timeoutMs: 20_000 });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    async query(expression) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expression)}`)) as { result: { metric: Record<string, string>; value: [number, string] }[] };
      return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
    },
    async queryOne(expression) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(expression)}`)) as { result: { value: [number, string] }[] };
      if (data.result.length > 1) throw new Error(`${expression} returned ${data.result.length} samples, not one`);
      return data.result.length === 0 ? undefined : Number(data.result[0].value[1]);
    },
    async waitForTargetsUp(timeoutMs = 30_000) {
      await eventually(async () => {
        const data = (await api('/api/v1/targets')) as { activeTargets: { scrapeUrl: string; health: string }[] };
        const expected = Object.values(jobs).flat().length;
        const up = data.activeTargets.filter((target) => target.health === 'up').length;
        if (up !== expected) throw new Error(`${up} of ${expected} targets up: ${JSON.stringify(data.activeTargets.map((t) => [t.scrapeUrl, t.health]))}`);
      }, { timeoutMs });
    },
    stop,
  };
}
