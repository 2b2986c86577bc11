// Starts real etcd clusters (the Debian `etcd-server` binary) on loopback for tests: every member
// on free ports, its own data folder, short raft timers so elections take well under a second.
// Members can be SIGKILLed and started again on the same ports and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually } from './eventually';
import { makeTempDir } from './temp-dir';

export interface EtcdMember {
  name: string;
  /** host:port of the client API. */
  endpoint: string;
  running(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again (same ports, same data) after a kill. */
  start(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Every member's host:port, for `--etcd`. */
  endpoints: string[];
  /** Resolves once a quorum answers /health (every running member agrees). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const ETCD_CANDIDATES = ['/usr/bin/etcd', '/usr/local/bin/etcd'];

/** The etcd binary: $RMQ_ETCD_BIN, else Debian's /usr/bin/etcd. */
export function etcdBinary(): string {
  const found = [process.env.RMQ_ETCD_BIN, ...ETCD_CANDIDATES].find((path): path is string => !!path && existsSync(path));
  if (!found) throw new Error('etcd is not installed: `apt-get install -y etcd-server` (.ci/run does it), or set RMQ_ETCD_BIN');
  return found;
}

/** A port that was free a moment ago (the OS picked it for a listener we closed at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEtcdCluster(size: number, options: { readyTimeoutMs?: number } = {}): Promise<EtcdCluster> {
  const binary = etcdBinary();
  const dir = makeTempDir('etcd');
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const specs = Array.from({ length: size }, (_, index) => ({
    name: `etcd${index + 1}`,
    clientPort: ports[index * 2],
    peerPort: ports[index * 2 + 1],
  }));
  const initialCluster = specs.map((spec) => `${spec.name}=http://127.0.0.1:${spec.peerPort}`).join(',');
  const token = `rmq-test-${process.pid}-${ports[0]}`;

  const members: EtcdMember[] = specs.map((spec) => {
    let child: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    const stderr: string[] = [];
    const args = [
      '--name', spec.name,
      '--data-dir', join(dir.path, spec.name),
      '--listen-client-urls', `http://127.0.0.1:${spec.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${spec.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${spec.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', token,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'error',
    ];
    const member: EtcdMember = {
      name: spec.name,
      endpoint: `127.0.0.1:${spec.clientPort}`,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      kill: async (signal = 'SIGKILL') => {
        if (member.running()) child!.kill(signal);
        await exited;
      },
      start: async () => {
        if (member.running()) return;
        const started = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        started.stderr!.on('data', (chunk: Buffer) => {
          stderr.push(chunk.toString());
          if (stderr.length > 200) stderr.shift();
          if (process.env.RMQ_TEST_LOGS === '1') process.stderr.write(`[${spec.name}] ${chunk}`);
        });
        exited = new Promise((resolve) => started.once('exit', () => resolve()));
        child = started;
      },
    };
    return member;
  });

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((member) => member.endpoint),
    waitHealthy: async (timeoutMs = options.readyTimeoutMs ?? 15_000) => {
      await eventually(
        async () => {
          const running = members.filter((member) => member.running());
          if (running.length === 0) throw new Error('no etcd member is running');
          for (const member of running) {
            const response = await fetch(`http://${member.endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
            const body = (await response.json()) as { health?: string };
            if (body.health !== 'true') throw new Error(`${member.name} is not healthy yet`);
          }
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    stop: async () => {
      await Promise.all(members.map((member) => member.kill('SIGKILL')));
      dir.remove();
    },
  };
  running.add(cluster);
  const stop = cluster.stop;
  cluster.stop = async () => {
    running.delete(cluster);
    await stop();
  };
  try {
    await Promise.all(members.map((member) => member.start()));
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

const running = new Set<EtcdCluster>();

/** Stops every etcd cluster this test file started; call it in afterAll. */
export async function stopAllEtcdClusters(): Promise<void> {
  await Promise.all([...running].map((cluster) => cluster.stop()));
}
