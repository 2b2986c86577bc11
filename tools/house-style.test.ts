// House rules that a reader would otherwise have to police by hand (shared/docs/house-style.md):
// libs take time from an injected clock, so tests can drive it and durations never jump with the
// wall clock; the one place that reads the system's clock is the default clock in @rmq/base.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const SYSTEM_CLOCK = 'libs/base/src/time.ts';
/** Test support and benchmarks run in the test process and may read the wall clock. */
const EXEMPT = /(\.test\.ts|\.bench\.ts)$|^libs\/testing\//;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('house rules', () => {
  it('reads the wall clock in libs only through the injected clock (Date.now() in base/time.ts alone)', () => {
    const offenders = readdirSync(join(ROOT, 'libs'))
      .flatMap((lib) => sourceFiles(join(ROOT, 'libs', lib, 'src')))
      .map((path) => relative(ROOT, path))
      .filter((path) => path !== SYSTEM_CLOCK && !EXEMPT.test(path))
      .filter((path) => /\bDate\.now\(\)/.test(readFileSync(join(ROOT, path), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
