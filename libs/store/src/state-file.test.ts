import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { readJson, writeJsonAtomic } from './state-file';

describe('atomic state files', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('state-file')));
  afterEach(() => temp.remove());

  it('keeps the last of many concurrent writes of one file, with none failing', async () => {
    const path = join(temp.path, 'state.json');
    await Promise.all(Array.from({ length: 50 }, (_, i) => writeJsonAtomic(path, { i })));
    expect(await readJson(path)).toEqual({ i: 49 });
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('gives a secret file mode 0600, even over a leftover temp file of another mode', async () => {
    const path = join(temp.path, 'secret');
    writeFileSync(`${path}.tmp`, 'old', { mode: 0o644 });
    await writeJsonAtomic(path, { key: 'k' }, { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('reads back what was written, and undefined for a missing file', async () => {
    const path = join(temp.path, 'a.json');
    expect(await readJson(path)).toBeUndefined();
    await writeJsonAtomic(path, { offsets: [1, 2, 3] });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ offsets: [1, 2, 3] });
  });

  it('still writes after an earlier write of the same path failed', async () => {
    const path = join(temp.path, 'missing-folder', 'x.json');
    await expect(writeJsonAtomic(path, 1)).rejects.toThrow('ENOENT');
    const good = join(temp.path, 'x.json');
    await writeJsonAtomic(good, 2);
    expect(await readJson(good)).toBe(2);
  });
});
