// `npm start` on an address another program holds says which flag and variable to change, before
// anything starts (not a stack trace of the first app that failed to bind).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ADDRESS_FLAGS = ['name-server', 'name-server-http', 'replication', 'replication-http', 'broker', 'broker-http', 'broker-1', 'broker-1-http', 'metrics-http'];

describe('the local stack checks its addresses first', () => {
  let held: Server;
  let port: number;
  let dir: string;

  beforeAll(async () => {
    held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    port = (held.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'stack-addresses-'));
  });

  afterAll(() => {
    held.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stack = (addresses: Record<string, string>) => {
    const args = ADDRESS_FLAGS.flatMap((flag) => [`--${flag}`, addresses[flag] ?? '127.0.0.1:0']);
    return spawnSync(process.execPath, [join(__dirname, 'stack.mjs'), '--data-dir', join(dir, 'data'), ...args], {
      env: { ...process.env, RMQ_STACK_PREBUILT: '1' }, encoding: 'utf8', timeout: 30_000,
    });
  };

  it('names an address in use with its flag and variable, and starts nothing', () => {
    const result = stack({ broker: `127.0.0.1:${port}` });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`error: 127.0.0.1:${port} (--broker / RMQ_STACK_BROKER) is in use by another program, perhaps another rmq stack`);
    expect(result.stderr).toMatch(/e\.g\. RMQ_STACK_BROKER=127\.0\.0\.1:\d+ npm start/);
    expect(result.stderr.match(/^error:/gm)).toHaveLength(1);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('names an address given to two apps', () => {
    const result = stack({ 'name-server': '127.0.0.1:1', 'metrics-http': '127.0.0.1:1' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('127.0.0.1:1 is given twice: to --name-server and to --metrics-http / RMQ_STACK_METRICS_HTTP');
  });
});
