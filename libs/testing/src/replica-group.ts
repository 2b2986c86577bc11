// One replica group (broker-a) as real processes on loopback: a name server, a master and
// slaves following it (--role slave --master), for tests and benchmarks of log shipping. Only
// the master registers with the name server; slaves serve replication and nothing else yet.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { admin, createClient } from '@rmq/contracts';
import { startApp, type AppProcess } from './app-process';
import { makeTempDir } from './temp-dir';

export interface ReplicaGroup {
  nameServer: AppProcess;
  /** The master (replaceable: startSlave follows whatever is here). */
  master: AppProcess;
  /** Slaves by index (brokerId index + 1); undefined while stopped. */
  slaves: (AppProcess | undefined)[];
  /** Data folders: the master's, then each slave's. */
  masterDir: string;
  slaveDirs: string[];
  createTopic(name: string, queueCount?: number): Promise<void>;
  /** Starts slave `index` (again, on its old data), following `master`. */
  startSlave(index: number, extraArgs?: string[]): Promise<AppProcess>;
  /**
   * Starts a member of the group on `dataDir` in the role given (a master in `epoch`, or a slave
   * following an endpoint), e.g. to swap roles; `master` and `slaves` are the caller's to update.
   */
  startBroker(label: string, dataDir: string, brokerId: number, role: { epoch: number } | { following: string }, extraArgs?: string[]): Promise<AppProcess>;
  stop(): Promise<void>;
}

export interface ReplicaGroupOptions {
  slaveCount: number;
  /** Given to every broker (e.g. --flush-mode). */
  brokerArgs?: string[];
  /** Given to the master only (e.g. --min-in-sync-replicas). */
  masterArgs?: string[];
  /** Start no slave yet (the test starts them). */
  slavesLater?: boolean;
  /** Added to every broker's environment (e.g. OTEL_* variables). */
  env?: Record<string, string>;
}

export async function startReplicaGroup(options: ReplicaGroupOptions): Promise<ReplicaGroup> {
  const temp = makeTempDir('replica-group');
  const brokerArgs = options.brokerArgs ?? [];
  const nameServer = await startApp('name-server', ['--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']);
  const masterDir = join(temp.path, 'master');
  const slaveDirs = Array.from({ length: options.slaveCount }, (_, index) => join(temp.path, `slave-${index + 1}`));
  const slaves: (AppProcess | undefined)[] = slaveDirs.map(() => undefined);
  const startBroker: ReplicaGroup['startBroker'] = (label, dataDir, brokerId, role, extraArgs = []) => {
    const roleArgs = 'epoch' in role
      ? ['--role', 'master', '--epoch', String(role.epoch), '--name-servers', nameServer.endpoints.grpc, '--register-interval-ms', '500']
      : ['--role', 'slave', '--master', role.following, '--name-servers', ''];
    return startApp('broker', [
      '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--data-dir', dataDir, '--broker-name', 'broker-a', '--broker-id', String(brokerId),
      ...roleArgs, ...brokerArgs, ...extraArgs,
    ], { label, env: options.env });
  };
  const master = await startBroker('master', masterDir, 0, { epoch: 1 }, options.masterArgs);
  const group: ReplicaGroup = {
    nameServer,
    master,
    slaves,
    masterDir,
    slaveDirs,
    startBroker,
    async createTopic(name, queueCount = 4) {
      const client = createClient(admin.AdminService, group.master.endpoints.grpc);
      try {
        await client.createTopic({ name, queueCount }, { deadlineMs: 5_000 });
      } finally {
        client.close();
      }
    },
    async startSlave(index, extraArgs = []) {
      slaves[index] = await startBroker(`slave-${index + 1}`, slaveDirs[index], index + 1, { following: group.master.endpoints.grpc }, extraArgs);
      return slaves[index]!;
    },
    async stop() {
      for (const app of [...slaves, group.master, nameServer]) if (app && app.child.exitCode === null && app.child.signalCode === null) await app.kill('SIGTERM');
      temp.remove();
    },
  };
  if (!options.slavesLater) for (let index = 0; index < options.slaveCount; index++) await group.startSlave(index);
  return group;
}

/** Segment files of a broker's commit log, by name. */
export function commitLogSegments(dataDir: string): Map<string, Buffer> {
  const dir = join(dataDir, 'store', 'commitlog');
  return new Map(readdirSync(dir).filter((name) => /^\d{20}$/.test(name)).sort().map((name) => [name, withoutZeroTail(readFileSync(join(dir, name)))]));
}

/**
 * A segment's bytes without the zeros at its end: the store writes zeros ahead of the log's end
 * (zero-ahead.ts) as far as its own batches took it, so two copies of one log differ there. (The
 * last record's body may end in zeros too: both copies lose them alike.)
 */
function withoutZeroTail(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

/**
 * The bytes two logs have in common, compared segment by segment up to the shorter log's end:
 * undefined when they agree, else where they first differ.
 */
export function firstDifference(a: Map<string, Buffer>, b: Map<string, Buffer>): string | undefined {
  const names = [...a.keys()].filter((name) => b.has(name));
  if (names.length === 0 && (a.size > 0 || b.size > 0)) return `no segment in common (${[...a.keys()].join(', ')} vs ${[...b.keys()].join(', ')})`;
  for (const name of names) {
    const [x, y] = [a.get(name)!, b.get(name)!];
    const length = Math.min(x.length, y.length);
    if (!x.subarray(0, length).equals(y.subarray(0, length))) {
      let at = 0;
      while (x[at] === y[at]) at++;
      return `segment ${name} differs at byte ${at}`;
    }
  }
  return undefined;
}
