// Runs one jest process and reads its results: the one place that knows jest's --json output and
// the watchdog. Jest writes its results file when the run is over; if it is still alive some time
// after that, a test leaked a handle (a timer, socket or process): say so and stop it, rather than
// let the run hang until CI's deadline.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXIT_GRACE_MS = 20_000;
const jestBin = join(dirname(fileURLToPath(import.meta.url)), '../node_modules/jest/bin/jest.js');

/** Resolves with jest's exit status (0 when it had to be stopped after writing its results). */
export async function runJest({ cwd, args, resultsFile, env = {} }) {
  rmSync(resultsFile, { force: true });
  const jest = spawn(process.execPath, [jestBin, '--ci', '--json', `--outputFile=${resultsFile}`, ...args], {
    cwd,
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
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
  return status;
}

/** Passed and failed tests in a results file; a suite that failed to load counts as one failure. */
export function countResults(resultsFile) {
  try {
    const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
    // A suite that failed with no failed test (it did not load, or an error escaped it, e.g. an
    // unhandled 'error' event after its tests) counts as one failure, or the sum would hide it.
    const brokenSuites = results.testResults.filter((suite) => suite.status === 'failed' && !suite.assertionResults.some((test) => test.status === 'failed')).length;
    return { passed: results.numPassedTests, failed: results.numFailedTests + brokenSuites, found: true };
  } catch {
    return { passed: 0, failed: existsSync(resultsFile) ? 1 : 0, found: false };
  }
}
