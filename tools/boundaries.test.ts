// The dependency rules of ARCHITECTURE.md, checked on every test run: apps depend on libs and
// never on each other; domain libs know nothing of the network, protobuf or metrics libraries;
// every workspace import is declared in the importing project's package.json.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..');

interface Project {
  name: string;
  dir: string;
  layer: string;
  declared: Set<string>;
}

const ALLOWED_LAYERS: Record<string, string[]> = {
  'layer:base': [],
  'layer:leaf': ['layer:base'],
  'layer:domain': ['layer:base', 'layer:domain'],
  'layer:wire': ['layer:base', 'layer:leaf', 'layer:domain', 'layer:wire'],
  'layer:testing': ['layer:base', 'layer:leaf', 'layer:domain', 'layer:wire'],
  'layer:app': ['layer:base', 'layer:leaf', 'layer:domain', 'layer:wire', 'layer:testing'],
};
const NETWORK_PACKAGES = /^(@grpc\/|@bufbuild\/|prom-client|@opentelemetry\/|etcd3)/;
/** Which domain libs each domain lib may use: the pure cores stay small and acyclic. */
const DOMAIN_USES: Record<string, string[]> = {
  '@rmq/store': [],
  '@rmq/routing': [],
  '@rmq/messaging': ['@rmq/store'],
  '@rmq/replication': ['@rmq/store'],
};

function projects(): Project[] {
  return ['apps', 'libs'].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((name) => {
      const dir = join(ROOT, group, name);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return {
        name: pkg.name as string,
        dir,
        layer: (pkg.nx?.tags ?? []).find((tag: string) => tag.startsWith('layer:')) as string,
        declared: new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]),
      };
    }),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'gen') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"]([^'"]+)['"]/g)].map((match) => match[1]);
}

const all = projects();
const byName = new Map(all.map((project) => [project.name, project]));

describe('dependency boundaries', () => {
  it('lists every domain lib with the domain libs it may use, and each keeps to its list', () => {
    const domain = all.filter((project) => project.layer === 'layer:domain');
    expect(domain.map((project) => project.name).sort()).toEqual(Object.keys(DOMAIN_USES).sort());
    for (const project of domain) {
      const used = [...project.declared].filter((name) => byName.get(name)?.layer === 'layer:domain');
      expect([project.name, used.filter((name) => !DOMAIN_USES[project.name].includes(name))]).toEqual([project.name, []]);
    }
  });

  it('gives every project a layer tag', () => {
    expect(all.filter((project) => !ALLOWED_LAYERS[project.layer]).map((project) => project.name)).toEqual([]);
  });

  it.each(all.map((project) => [project.name, project] as const))('%s imports only what its layer allows, and declares it', (_name, project) => {
    const problems: string[] = [];
    // Tests and benchmarks (*.bench.ts, next to the code they measure) may start real processes.
    const production = (file: string) => !/\.(test|bench)\.ts$/.test(file) && !file.includes('/test/');
    for (const file of sourceFiles(project.dir)) {
      for (const target of importsOf(file)) {
        const where = relative(ROOT, file);
        if (target.startsWith('.')) {
          if (relative(project.dir, resolve(dirname(file), target)).startsWith('..')) problems.push(`${where}: reaches outside its project with ${target}`);
          continue;
        }
        const packageName = target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0];
        const dependency = byName.get(packageName);
        if (dependency) {
          if (dependency !== project && !project.declared.has(packageName)) problems.push(`${where}: imports ${packageName} without declaring it in package.json`);
          if (dependency !== project && production(file) && !ALLOWED_LAYERS[project.layer].includes(dependency.layer)) {
            problems.push(`${where}: ${project.layer} may not import ${packageName} (${dependency.layer})`);
          }
        } else if (project.layer === 'layer:domain' && production(file) && NETWORK_PACKAGES.test(target)) {
          problems.push(`${where}: a domain lib may not import ${target}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

// The same rules over nx's own project graph (what `nx affected` uses), so nx and this test agree
// on what depends on what. nx counts test files too, so any project may reach @rmq/testing.
describe('nx project graph', () => {
  const graphFile = join(require('node:os').tmpdir(), `rmq-nx-graph-${process.pid}.json`);
  let graph: { nodes: Record<string, { data: { tags?: string[] } }>; dependencies: Record<string, { target: string; type: string }[]> };

  beforeAll(() => {
    require('node:child_process').execFileSync('npx', ['nx', 'graph', `--file=${graphFile}`], {
      cwd: ROOT,
      stdio: 'ignore',
      env: { ...process.env, CI: 'true', NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    });
    graph = JSON.parse(readFileSync(graphFile, 'utf8')).graph;
    require('node:fs').rmSync(graphFile, { force: true });
  }, 60_000);

  it('knows every project, with its layer tag', () => {
    const layers = Object.fromEntries(Object.entries(graph.nodes).map(([name, node]) => [name, (node.data.tags ?? []).find((tag) => tag.startsWith('layer:'))]));
    // `tools` is the workspace's own tooling (bundling, test runner, workspace-wide tests): a project
    // so that nx runs its tests, never a dependency of another project.
    expect(layers).toEqual({ ...Object.fromEntries(all.map((project) => [project.name, project.layer])), tools: 'layer:tools' });
  });

  it('has no edge a layer does not allow', () => {
    const layerOf = (name: string) => byName.get(name)?.layer;
    const intoTools = Object.entries(graph.dependencies).flatMap(([source, edges]) => edges.filter((edge) => edge.target === 'tools' && source !== 'tools').map(() => `${source} -> tools`));
    expect(intoTools).toEqual([]);
    const banned = Object.entries(graph.dependencies).flatMap(([source, edges]) =>
      edges
        .filter((edge) => byName.has(source) && byName.has(edge.target) && edge.target !== source)
        // An app's implicitDependencies name the apps its integration tests start as processes
        // (so `nx affected` reruns them); no code is imported, checked by the import test above.
        .filter((edge) => !(edge.type === 'implicit' && layerOf(source) === 'layer:app' && layerOf(edge.target) === 'layer:app'))
        .filter((edge) => layerOf(edge.target) !== 'layer:testing' && !ALLOWED_LAYERS[layerOf(source)!].includes(layerOf(edge.target)!))
        .map((edge) => `${source} -> ${edge.target}`),
    );
    expect(banned).toEqual([]);
  });
});
