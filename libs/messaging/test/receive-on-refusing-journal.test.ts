// A receive whose deliveries the state journal refuses (a broker between master and slave) is
// answered with the refusal; the process goes on. Found by the failover chaos test: a refused
// delivery record, rejected while the receive was still reading the next message, counted as an
// unhandled rejection and stopped the broker that was just elected master.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '../../..');

it('answers the receive with the refusal and keeps running', () => {
  const built = spawnSync(process.execPath, [join(REPO_ROOT, 'tools/run-ts.mjs'), '--bundle-only', join(__dirname, 'receive-on-refusing-journal.ts')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`bundling the helper failed: ${built.stderr}`);
  const run = spawnSync(process.execPath, [built.stdout.trim().split('\n').at(-1)!], { encoding: 'utf8', timeout: 30_000 });
  expect({ code: run.status, stdout: run.stdout, stderr: run.stderr.split('\n')[0] }).toEqual({ code: 0, stdout: 'rejected: this broker is a slave: its state changes only by copying its master\n', stderr: '' });
}, 60_000);
