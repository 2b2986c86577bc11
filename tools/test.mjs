// The test command of the README and CI: one jest run over every project, then a plain
// "N passed, M failed" line (the workplace does not read jest's own summary).
//   node tools/test.mjs            everything
//   node tools/test.mjs --unit     skip *.int.test.ts
//   node tools/test.mjs <jest args> passed through (e.g. a path pattern)
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const passThrough = args.filter((arg) => arg !== '--unit');
const resultsFile = join(root, 'jest-results.json');
rmSync(resultsFile, { force: true });

const jestArgs = ['jest', '--ci', '--json', `--outputFile=${resultsFile}`, ...passThrough];
if (unitOnly) jestArgs.push('--testPathIgnorePatterns', '\\.int\\.test\\.ts$', '\\.chaos\\.test\\.ts$');
const run = spawnSync('npx', jestArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });

let passed = 0;
let failed = 0;
try {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests;
  // A suite that fails to load has no failed tests of its own; count it so it cannot hide.
  failed = results.numFailedTests + results.testResults.filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0).length;
} catch {
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
