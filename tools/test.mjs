// The test command of the README and CI: `nx run-many -t test` (every project's test target runs
// jest in that project, after tools:bundle-apps bundled the apps once, from nx's cache when the
// sources did not change), then one plain "N passed, M failed" line summed over the projects
// (the workplace reads that line, not jest's or nx's summaries).
//   node tools/test.mjs                  every project
//   node tools/test.mjs --unit           skip *.int.test.ts and *.chaos.test.ts
//   node tools/test.mjs <path> [...]     only the projects holding those paths, jest given the paths
//   node tools/test.mjs <jest options>   passed to every project's jest (e.g. -t <name>)
// Projects run one at a time (--parallel=1): each jest runs its files one at a time as well, as
// the single jest run before did on this 2-core machine; RMQ_TEST_PARALLEL=<n> changes that.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countResults } from './jest-run.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const jestArgs = args.filter((arg) => arg !== '--unit');
if (args.includes('--unit')) jestArgs.push('--testPathIgnorePatterns', '\\.int\\.test\\.ts$', '\\.chaos\\.test\\.ts$');

/** Project folders (apps/x, libs/x, tools) by nx project name. */
function projectFolders() {
  const folders = { tools: 'tools' };
  for (const group of ['apps', 'libs']) {
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, 'package.json');
      if (existsSync(manifest)) folders[JSON.parse(readFileSync(manifest, 'utf8')).name] = `${group}/${name}`;
    }
  }
  return folders;
}

/** The projects whose folder holds one of the path arguments; undefined: every project. */
function projectsOf(paths) {
  if (paths.length === 0) return undefined;
  const chosen = new Set();
  for (const path of paths) {
    const relativePath = relative(root, resolve(process.cwd(), path));
    const match = Object.entries(projectFolders()).find(([, folder]) => relativePath === folder || relativePath.startsWith(`${folder}/`));
    if (!match) return undefined; // a pattern rather than a path: every project's jest filters with it
    chosen.add(match[0]);
  }
  return [...chosen];
}

// The user's positional arguments are paths (or patterns), unless they follow an option (its value).
const userArgs = args.filter((arg) => arg !== '--unit');
const positional = userArgs.filter((arg, i) => !arg.startsWith('-') && (i === 0 || !userArgs[i - 1].startsWith('-') || userArgs[i - 1].includes('=')));
const projects = projectsOf(positional);

const resultsDir = join(root, 'dist/test-results');
rmSync(resultsDir, { recursive: true, force: true });
const nxBin = join(root, 'node_modules/nx/dist/bin/nx.js');
const nxArgs = ['run-many', '-t', 'test', '--outputStyle=stream-without-prefixes', `--parallel=${process.env.RMQ_TEST_PARALLEL ?? 1}`];
if (projects) nxArgs.push(`--projects=${projects.join(',')}`);
const nx = spawn(process.execPath, [nxBin, ...nxArgs], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FORCE_COLOR: '0', NX_TUI: 'false', RMQ_TEST_RESULTS_DIR: resultsDir, RMQ_JEST_ARGS: JSON.stringify(jestArgs) },
});
const status = await new Promise((resolve) => nx.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

let passed = 0;
let failed = 0;
for (const name of existsSync(resultsDir) ? readdirSync(resultsDir) : []) {
  const counted = countResults(join(resultsDir, name));
  passed += counted.passed;
  failed += counted.failed;
}
// nx failed without a failed test to show for it (e.g. bundling the apps failed): never report green.
if (status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
