// rmq bench, the real process against a real broker (no name server): every phase runs, nothing is
// lost, and the JSON has the figures the table shows, broker CPU included.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { killAllApps, makeTempDir, startApp, type AppProcess } from '@rmq/testing';

const RMQ_BIN = join(__dirname, '../bin/rmq.js');
const RUN_TIMEOUT_MS = 60_000;

function rmq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RMQ_BIN, ...args], { timeout: RUN_TIMEOUT_MS }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('rmq bench against a real broker', () => {
  let broker: AppProcess;
  const dataDir = makeTempDir('cli-bench');

  beforeAll(async () => {
    broker = await startApp('broker', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dataDir.path, '--name-servers', '']);
  });

  afterAll(async () => {
    await killAllApps();
    dataDir.remove();
  });

  it('produces, consumes the backlog and measures end-to-end latency, with a progress line and broker CPU', async () => {
    const run = await rmq([
      'bench', '--broker', broker.endpoints.grpc, '--broker-pid', String(broker.pid), '--count', '3000', '--concurrency', '500',
      '--topics', '3', '--rate', '500', '--e2e-seconds', '1', '--durability', 'sync', '--json',
    ]);
    expect(run.code).toBe(0);
    const { results, settings } = JSON.parse(run.stdout) as { results: Array<Record<string, any>>; settings: Record<string, unknown> };
    expect(settings).toMatchObject({ count: 3000, topics: 3, durability: 'sync' });
    expect(results.map((r) => r.phase)).toEqual(['produce', 'consume', 'e2e']);
    const [produce, consume, e2e] = results;
    expect(produce.messages).toBe(3000);
    expect(consume.messages).toBe(3003); // the backlog and one warm-up message per topic
    expect(e2e.messages).toBe(1000); // 500/s for 1 s of warm-up + 1 s measured, none lost
    expect(e2e.notes).toContain('lost 0, duplicates 0');
    for (const r of [produce, e2e]) expect(r.latencyMs.p50).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.messagesPerSecond).toBeGreaterThan(0);
      expect(r.brokerCpuUsPerMessage).toBeGreaterThan(0);
    }
    expect(run.stderr).toMatch(/produce: [\d,]+ msgs, [\d,]+ msg\/s now/);
  }, RUN_TIMEOUT_MS);

  it('refuses a run whose expected durability is not the broker\'s flush mode, and says how to fix it', async () => {
    const run = await rmq(['bench', 'produce', '--broker', broker.endpoints.grpc, '--durability', 'async', '--count', '10']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('runs with --flush-mode sync, not async; restart it with --flush-mode async or drop --durability');
  });

  it('refuses consume without produce and an unknown phase as usage errors', async () => {
    expect((await rmq(['bench', 'consume', '--broker', broker.endpoints.grpc])).stderr).toContain('the consume phase reads what the produce phase wrote');
    const unknown = await rmq(['bench', 'publish', '--broker', broker.endpoints.grpc]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown phase publish');
  });
});
