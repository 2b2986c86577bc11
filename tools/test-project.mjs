// The `test` target of every nx project: runs jest in the project's folder (the current
// directory) with the watchdog of jest-run.mjs, and leaves its results where tools/test.mjs sums
// them: $RMQ_TEST_RESULTS_DIR (default dist/test-results)/<project path with dashes>.json.
// Jest arguments come from the command line and from $RMQ_JEST_ARGS (a JSON list, set by
// tools/test.mjs for every project at once). Under nx the apps were bundled by the target this
// one depends on (tools:bundle-apps, cached), so jest's global setup does not bundle them again.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countResults, runJest } from './jest-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const project = relative(root, process.cwd()) || '.';
const resultsDir = process.env.RMQ_TEST_RESULTS_DIR ?? join(root, 'dist/test-results');
mkdirSync(resultsDir, { recursive: true });
const resultsFile = join(resultsDir, `${project.replace(/[/\\]/g, '-')}.json`);
const args = ['--passWithNoTests', ...JSON.parse(process.env.RMQ_JEST_ARGS ?? '[]'), ...process.argv.slice(2)];
const underNx = process.env.NX_TASK_TARGET_TARGET === 'test';

const status = await runJest({ cwd: process.cwd(), args, resultsFile, env: underNx ? { RMQ_APPS_PREBUILT: '1' } : {} });
const { passed, failed, found } = countResults(resultsFile);
if (!found) {
  // Jest ended without results (it crashed or was killed): leave a failure for the sum to count.
  writeFileSync(resultsFile, JSON.stringify({ numPassedTests: 0, numFailedTests: 1, testResults: [] }));
}
console.log(`${project}: ${passed} passed, ${found ? failed : 1} failed`);
process.exit(status === 0 && found && failed === 0 ? 0 : 1);
