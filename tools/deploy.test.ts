// deploy/ names flags, environment variables and ports of our apps: each must be one the app
// knows, with a value its own config parser accepts, and every port named must be one an app
// listens on there. Convention the files keep: an app's command is a one-line JSON list whose
// first element is the app (`args: ["broker", "--listen", ...]`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { envName, loadConfig, type Schema } from '@rmq/config';
import { brokerConfigSchema } from '../apps/broker/src/broker-config';
import { metricsOptions } from '../apps/metrics/src/options';
import { configSchema as nameServerSchema } from '../apps/name-server/src/cli-config';
import { replicationOptions } from '../apps/replication/src/options';

const ROOT = join(__dirname, '..');
const SCHEMAS: Record<string, Schema> = { broker: brokerConfigSchema, metrics: metricsOptions, 'name-server': nameServerSchema, replication: replicationOptions };
/** Ports of other programs in deploy/: etcd (client, peer) and Prometheus. */
const THIRD_PARTY_PORTS = new Set([2379, 2380, 9090]);
/** Values Kubernetes fills in, replaced by a sample of the same shape. */
const PLACEHOLDERS: Record<string, string> = { '$(POD_NAME)': 'broker-a-0', '$(POD_IP)': '10.0.0.7' };
/** Environment variables of the runtime or of OpenTelemetry, not of our config. */
const OTHER_ENV = /^(POD_NAME|POD_IP|NODE_ENV|OTEL_[A-Z_]+)$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const deployFiles = files(join(ROOT, 'deploy')).filter((path) => /(\.ya?ml|Dockerfile)$/.test(path) && !path.includes('/prometheus/') && !path.includes('/grafana/'));

function commandsOf(text: string): { app: string; argv: string[] }[] {
  const commands: { app: string; argv: string[] }[] = [];
  // A JSON list on one line (compose may continue it on the next line).
  const joined = text.replace(/,\s*\n\s*"/g, ', "');
  for (const match of joined.matchAll(/(?:args|command|CMD):?\s*(\[[^\]\n]*\])/g)) {
    const list = JSON.parse(match[1]) as string[];
    if (SCHEMAS[list[0]]) commands.push({ app: list[0], argv: list.slice(1).map((arg) => Object.entries(PLACEHOLDERS).reduce((value, [from, to]) => value.split(from).join(to), arg)) });
  }
  return commands;
}

describe.each(deployFiles.map((path) => [relative(ROOT, path), path]))('%s', (_name, path) => {
  const text = readFileSync(path, 'utf8');
  const commands = commandsOf(text);
  // Env given as literal values, per variable: compose "NAME=value", Kubernetes { name: NAME, value: "v" }.
  const envValues = [...text.matchAll(/(RMQ_[A-Z_]+)=([^"\s]+)/g), ...text.matchAll(/name: (RMQ_[A-Z_]+), value: "([^"]*)"/g)].map((m) => [m[1], m[2]] as const);

  it('starts our apps with flags they know and values they accept', () => {
    for (const { app, argv } of commands) {
      // loadConfig is what the app runs at start: unknown flags and bad values throw, naming the flag.
      expect(() => loadConfig(SCHEMAS[app], argv, { RMQ_DATA_DIR: '/data' })).not.toThrow();
    }
  });

  it('sets only environment variables an app reads, with values it accepts', () => {
    const names = [...new Set([...text.matchAll(/\b([A-Z][A-Z0-9_]{2,})\b(?==|",|\s*$|,\s*value|\s*#|\s*\n\s*valueFrom)/gm)].map((m) => m[1]).filter((name) => name.startsWith('RMQ_') || OTHER_ENV.test(name)))];
    const unknown = names.filter((name) => name.startsWith('RMQ_') && !Object.values(SCHEMAS).some((schema) => Object.keys(schema).some((key) => envName(key) === name)));
    expect(unknown).toEqual([]);
    for (const [name, value] of envValues) {
      const accepting = Object.entries(SCHEMAS).filter(([, schema]) => Object.keys(schema).some((key) => envName(key) === name)).filter(([, schema]) => {
        try {
          loadConfig(schema, [], { RMQ_DATA_DIR: '/data', [name]: value });
          return true;
        } catch {
          return false;
        }
      });
      expect({ name, value, accepted: accepting.length > 0 }).toEqual({ name, value, accepted: true });
    }
  });

  it('names only ports an app listens on (or etcd\'s and Prometheus\')', () => {
    const listening = new Set(commands.flatMap(({ app, argv }) => {
      const config = loadConfig(SCHEMAS[app], argv, { RMQ_DATA_DIR: '/data' }) as Record<string, unknown>;
      return ['listen', 'httpListen'].filter((key) => typeof config[key] === 'string').map((key) => Number(String(config[key]).split(':').pop()));
    }));
    const named = [
      ...[...text.matchAll(/(?:containerPort|targetPort|port): (\d+)/g)].map((m) => Number(m[1])),
      ...[...text.matchAll(/"(\d+):(\d+)"/g)].map((m) => Number(m[2])), // compose "host:container"
      ...[...text.matchAll(/^EXPOSE ([\d ]+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).map(Number)),
      ...[...text.matchAll(/127\.0\.0\.1:(\d+)\/health/g)].map((m) => Number(m[1])),
    ];
    const stray = named.filter((port) => !listening.has(port) && !THIRD_PARTY_PORTS.has(port));
    if (path.endsWith('Dockerfile')) {
      // The image serves every app: its ports are the apps' default ports.
      const defaults = new Set(Object.values(SCHEMAS).flatMap((schema) => ['listen', 'httpListen'].filter((key) => key in schema).map((key) => Number(String((schema as Record<string, { default?: unknown }>)[key].default).split(':').pop()))));
      expect(named.filter((port) => !defaults.has(port))).toEqual([]);
    } else {
      expect(stray).toEqual([]);
    }
  });
});

describe('deploy/', () => {
  it('has a Dockerfile, a compose file and Kubernetes manifests for every app', () => {
    const names = deployFiles.map((path) => relative(ROOT, path));
    expect(names).toEqual(expect.arrayContaining(['deploy/docker/Dockerfile', 'deploy/compose.yaml', 'deploy/kubernetes/broker.yaml', 'deploy/kubernetes/name-server.yaml', 'deploy/kubernetes/metrics.yaml', 'deploy/kubernetes/controller.yaml', 'deploy/kubernetes/etcd.yaml']));
    const apps = new Set(deployFiles.flatMap((path) => commandsOf(readFileSync(path, 'utf8')).map((command) => command.app)));
    expect([...apps].sort()).toEqual(Object.keys(SCHEMAS).sort());
  });

  it('probes every app container (liveness on /live or /health, readiness on /health) and requests resources for it', () => {
    for (const path of deployFiles.filter((file) => file.includes('/kubernetes/'))) {
      const text = readFileSync(path, 'utf8');
      const containers = commandsOf(text).length;
      expect({ path, liveness: (text.match(/livenessProbe: \{ httpGet: \{ path: \/(live|health)\b/g) ?? []).length }).toEqual({ path, liveness: containers });
      expect({ path, readiness: (text.match(/readinessProbe: \{ httpGet: \{ path: \/health/g) ?? []).length }).toEqual({ path, readiness: containers });
      expect((text.match(/resources: \{ requests:/g) ?? []).length).toBeGreaterThanOrEqual(containers);
    }
  });
});
