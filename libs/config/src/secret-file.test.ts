import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecretFile } from './secret-file';

describe('secret files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'secret-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a 0600 file, trimmed', () => {
    writeFileSync(join(dir, 'ok'), 'shh\n', { mode: 0o600 });
    expect(readSecretFile(join(dir, 'ok'), '--cluster-secret-file')).toBe('shh');
  });

  it('refuses a file others may read, an empty one and a missing one, naming the option', () => {
    writeFileSync(join(dir, 'open'), 'shh', { mode: 0o644 });
    expect(() => readSecretFile(join(dir, 'open'), '--x')).toThrow(/--x: .* may be read by others \(mode 644\); run chmod 600/);
    writeFileSync(join(dir, 'empty'), '\n', { mode: 0o600 });
    expect(() => readSecretFile(join(dir, 'empty'), '--x')).toThrow(/is empty/);
    expect(() => readSecretFile(join(dir, 'missing'), '--x')).toThrow(/cannot read .*ENOENT/);
  });
});
