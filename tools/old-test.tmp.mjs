// The test command of the README and CI: one jest run over every project, then a plain
// "N passed, M failed" line (the workplace does not read jest's own summary).
//   node tools/test.mjs            everything
//   node tools/test.mjs --unit     skip *.int.test.ts
//   node tools/test.mjs <jest args> passed through (e.g. a path pattern)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
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
// Jest writes the results file when the run is over. If it is still alive some time after that,
// a test leaked a handle: say so and stop it, rather than let CI hang until its deadline.
const EXIT_GRACE_MS = 20_000;
const jest = spawn('npx', jestArgs, { cwd: root, stdio: 'inherit', detached: true, env: { ...process.env, FORCE_COLOR: '0' } });
let leaked = false;
const watchdog = setInterval(() => {
  if (!existsSync(resultsFile)) return;
  clearInterval(watchdog);
  setTimeout(() => {
    leaked = true;
    console.error(`\ntest: jest did not exit ${EXIT_GRACE_MS / 1000} s after the run ended (a test leaks a timer, socket or process); stopping it`);
    process.kill(-jest.pid, 'SIGKILL');
  }, EXIT_GRACE_MS).unref();
}, 500);
const status = await new Promise((resolve) => jest.on('exit', (code, signal) => resolve(leaked ? 0 : (code ?? (signal ? 1 : 0)))));
clearInterval(watchdog);
const run = { status };

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
