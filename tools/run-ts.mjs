// Runs a TypeScript entry point of the workspace (a benchmark, a test's helper process) with
// plain node: bundles it with esbuild into node_modules/.cache/rmq-run/, then runs the bundle
// with the remaining arguments. Usage: node tools/run-ts.mjs <file.ts> [args ...]
// `node tools/run-ts.mjs --bundle-only <file.ts>` only bundles and prints the bundle's path.
import { spawn } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { bundleEntry } from './build-apps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundleOnly = process.argv[2] === '--bundle-only';
const [entry, ...args] = process.argv.slice(bundleOnly ? 3 : 2);
if (!entry) {
  console.error('usage: node tools/run-ts.mjs <file.ts> [args ...]');
  process.exit(2);
}
const outfile = join(root, 'node_modules/.cache/rmq-run', `${basename(entry, '.ts')}.cjs`);
await bundleEntry(resolve(entry), outfile);
(await import('esbuild')).stop();
if (bundleOnly) {
  console.log(outfile);
  process.exit(0);
}
const child = spawn(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
