// A commit log damaged below its checkpoint (acknowledged data): the broker refuses to start and
// says which segment, which offset and what to do; with --accept-data-loss it moves the damaged
// segment aside (never deleting it) and starts.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageStore } from '@rmq/store';
import { appMainPath, killAllApps, makeTempDir, startApp } from '@rmq/testing';

describe('broker on a commit log damaged below its checkpoint', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeAll(() => (temp = makeTempDir('broker-damaged')));
  afterAll(async () => {
    await killAllApps();
    temp.remove();
  });

  it('refuses to start, naming the segment and offset, and starts with --accept-data-loss', async () => {
    const storeDir = join(temp.path, 'store');
    const store = await MessageStore.open({ dataDir: storeDir, flushMode: 'sync' });
    const body = Buffer.from('acknowledged body');
    await store.append([0, 1, 2].map(() => ({ topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body })));
    await store.close(); // the checkpoint now covers all three
    const segment = join(storeDir, 'commitlog', '0'.repeat(20));
    const original = readFileSync(segment);
    const damaged = Buffer.from(original);
    damaged[damaged.indexOf(body) + 3] ^= 0xff; // the first record's body
    writeFileSync(segment, damaged);
    writeFileSync(join(storeDir, 'abort'), '1'); // an unclean stop: recovery re-reads the segment

    const args = ['--data-dir', temp.path, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--name-servers', ''];
    const refused = spawnSync(process.execPath, [appMainPath('broker'), ...args], { encoding: 'utf8', timeout: 30_000 });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`commit log segment ${segment} is damaged at log offset 0 (CRC mismatch)`);
    expect(refused.stderr).toContain('--accept-data-loss');
    expect(readFileSync(segment)).toEqual(damaged);

    const broker = await startApp('broker', [...args, '--accept-data-loss']);
    await broker.kill('SIGTERM');
    const aside = readdirSync(join(storeDir, 'commitlog-damaged'));
    expect(aside.length).toBe(1);
    expect(readFileSync(join(storeDir, 'commitlog-damaged', aside[0]))).toEqual(damaged);
  }, 60_000);
});
