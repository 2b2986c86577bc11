// Bundles each app into apps/<app>/dist/main.js with esbuild: workspace libs inlined, npm
// packages left as require()s (OpenTelemetry's require hooks need them outside the bundle).
// Usage: node tools/build-apps.mjs [app ...]   (no argument: every app)
import { build } from 'esbuild';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(rootPackage.dependencies ?? {}), ...Object.keys(rootPackage.devDependencies ?? {})];

/** Bundles one TypeScript entry point into a CommonJS file, workspace libs inlined. */
export async function bundleEntry(entryPoint, outfile) {
  await build({
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: external.flatMap((name) => [name, `${name}/*`]),
    logLevel: 'warning',
  });
}

export async function buildApps(apps) {
  const all = readdirSync(join(root, 'apps')).filter((app) => existsSync(join(root, 'apps', app, 'src/main.ts')));
  const chosen = apps.length > 0 ? apps : all;
  await Promise.all(
    chosen.map((app) => bundleEntry(join(root, 'apps', app, 'src/main.ts'), join(root, 'apps', app, 'dist/main.js'))),
  );
  return chosen;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildApps(process.argv.slice(2)).catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
