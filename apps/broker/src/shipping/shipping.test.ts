// Log shipping in one process: real stores on disk, real gRPC on loopback, a master and a slave
// ReplicaRole. The slave ends up with byte-identical segments; an empty slave starts at the
// master's oldest segment; a slave whose log diverged cuts it back and follows; the master
// refuses writes while its in-sync set is smaller than --min-in-sync-replicas.
import * as grpc from '@grpc/grpc-js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRmqError, systemClock } from '@rmq/base';
import { addService, listen, replication } from '@rmq/contracts';
import { createLogger } from '@rmq/observability';
import { MessageStore, type AppendInput } from '@rmq/store';
import { eventually, makeTempDir } from '@rmq/testing';
import { ReplicaRole } from './replica-role';
import { replicationService } from './replication-service';

const SEGMENT_BYTES = 4096;
const log = createLogger({ app: 'test' }, { level: 'error' });

interface Member {
  name: string;
  dir: string;
  store: MessageStore;
  role: ReplicaRole;
  server: grpc.Server;
  endpoint: string;
}

function message(queueId: number, body: string): AppendInput {
  return { topic: 'S', queueId, tagHash: 0, flags: 0, bornTimestampMs: 1_700_000_000_000, properties: new Map(), body: Buffer.from(body) };
}

function segments(member: Member): Map<string, Buffer> {
  const dir = join(member.dir, 'commitlog');
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name))]));
}

async function bodies(store: MessageStore, queueId: number): Promise<string[]> {
  const { minQueueOffset } = store.queueRange('S', queueId);
  return (await store.read('S', queueId, minQueueOffset, { countMax: 1000 })).records.map((record) => record.body.toString());
}

describe('log shipping between a master and a slave', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const members: Member[] = [];

  async function member(name: string, options: { minInSyncReplicas?: number; diskUsedRatio?: () => number } = {}): Promise<Member> {
    const dir = join(temp.path, name);
    const store = await MessageStore.open({
      // Every new entry makes its queue due: checkpoints (which retention waits for) cover the whole log.
      dataDir: dir, flushMode: 'sync', segmentSizeBytes: SEGMENT_BYTES, checkpointIntervalMs: 50, queuePersistEntriesMin: 1, commitPolicy: 'replicated',
      ...(options.diskUsedRatio ? { diskUsage: async () => ({ usedBytes: options.diskUsedRatio!() * 1000, totalBytes: 1000 }), retentionCheckIntervalMs: 3_600_000 } : {}),
    });
    const server = new grpc.Server();
    const port = await listen(server, '127.0.0.1', 0);
    const endpoint = `127.0.0.1:${port}`;
    const role = await ReplicaRole.open({
      store, storeDir: dir, brokerName: 'broker-a', replicaId: name, endpoint: () => endpoint, flushMode: 'sync', clock: systemClock, log,
      minInSyncReplicas: options.minInSyncReplicas ?? 1, bounds: { lagMsMax: 30_000, lagBytesMax: 64 * 1024 * 1024 }, // no slave leaves the set in these tests, however loaded the machine
    });
    addService(server, replication.ReplicationService, replicationService({ brokerName: 'broker-a', store, master: () => role.master(), epoch: () => role.epoch(), log }));
    const created = { name, dir, store, role, server, endpoint };
    members.push(created);
    return created;
  }

  async function appendMany(master: Member, count: number, prefix: string): Promise<void> {
    // Sizes that cross segment boundaries and leave blanks.
    await Promise.all(Array.from({ length: count }, (_, i) => master.store.append([message(i % 3, `${prefix}${i}-${'x'.repeat((i * 97) % 700)}`)])));
  }

  async function caughtUp(slave: Member, master: Member): Promise<void> {
    await eventually(() => {
      const [s, m] = [slave.store, master.store];
      if (s.writtenLogOffset !== m.writtenLogOffset || s.committedLogOffset !== m.committedLogOffset) {
        throw new Error(`slave at ${s.writtenLogOffset} (committed ${s.committedLogOffset}), master at ${m.writtenLogOffset} (committed ${m.committedLogOffset})`);
      }
    }, { timeoutMs: 10_000 });
  }

  beforeEach(() => {
    temp = makeTempDir('shipping');
  });

  afterEach(async () => {
    for (const { role, server, store } of members.splice(0)) {
      await role.stop();
      server.forceShutdown();
      await store.close();
    }
    temp.remove();
  });

  it('copies the log byte for byte, commits what the in-sync slave has, and keeps up with later writes', async () => {
    const master = await member('master');
    await master.role.becomeMaster(1);
    await appendMany(master, 40, 'm');
    const slave = await member('slave');
    await slave.role.becomeSlave(master.endpoint);
    await caughtUp(slave, master);
    await eventually(() => expect(master.role.master()!.status().inSyncReplicas).toBe(2));
    await appendMany(master, 40, 'n'); // answered only once the slave has them too
    expect(slave.store.durableLogOffset).toBe(master.store.writtenLogOffset);
    await caughtUp(slave, master);
    expect(segments(slave)).toEqual(segments(master));
    for (const queueId of [0, 1, 2]) expect(await bodies(slave.store, queueId)).toEqual(await bodies(master.store, queueId));
    const slaveEpochs = JSON.parse(readFileSync(join(slave.dir, 'epochs.json'), 'utf8'));
    expect(slaveEpochs.entries).toEqual([{ epoch: 1, startLogOffset: 0 }]);
  });

  it('starts an empty slave at the master\'s oldest segment when retention deleted the log\'s start', async () => {
    let usedRatio = 0.1;
    const master = await member('master', { diskUsedRatio: () => usedRatio });
    await master.role.becomeMaster(1);
    await appendMany(master, 60, 'm');
    usedRatio = 0.8; // above the high-water mark: the oldest segments go
    await eventually(async () => {
      await master.store.runRetention();
      expect(master.store.stats().logMinOffset).toBeGreaterThan(0);
    });
    usedRatio = 0.1;
    const minOffset = master.store.stats().logMinOffset;
    const slave = await member('slave');
    await slave.role.becomeSlave(master.endpoint);
    await caughtUp(slave, master);
    expect(slave.store.stats().logMinOffset).toBe(minOffset);
    expect(segments(slave)).toEqual(segments(master));
    for (const queueId of [0, 1, 2]) {
      expect(slave.store.queueRange('S', queueId)).toEqual(master.store.queueRange('S', queueId));
      expect(await bodies(slave.store, queueId)).toEqual(await bodies(master.store, queueId));
    }
    await appendMany(master, 10, 'later');
    await caughtUp(slave, master);
    expect(segments(slave)).toEqual(segments(master));
  });

  it('cuts back a slave whose log diverged (written in an epoch the new master never had) and follows', async () => {
    const a = await member('a');
    await a.role.becomeMaster(1);
    await appendMany(a, 20, 'e1-');
    const b = await member('b');
    await b.role.becomeSlave(a.endpoint);
    await caughtUp(b, a);
    const shared = a.store.writtenLogOffset;

    // b becomes master of epoch 2 on its own and writes; a goes on in epoch 3 without it.
    await b.role.becomeMaster(2);
    await appendMany(b, 7, 'e2-');
    await a.role.becomeMaster(3);
    await appendMany(a, 12, 'e3-');

    await b.role.becomeSlave(a.endpoint);
    await caughtUp(b, a);
    expect(segments(b)).toEqual(segments(a));
    for (const queueId of [0, 1, 2]) expect((await bodies(b.store, queueId)).some((body) => body.startsWith('e2-'))).toBe(false);
    const epochs = JSON.parse(readFileSync(join(b.dir, 'epochs.json'), 'utf8')).entries;
    expect(epochs).toEqual([{ epoch: 1, startLogOffset: 0 }, { epoch: 3, startLogOffset: shared }]);
  });

  it('refuses sends while fewer replicas than --min-in-sync-replicas are in sync', async () => {
    const master = await member('master', { minInSyncReplicas: 2 });
    await master.role.becomeMaster(1);
    const refused = await Promise.resolve().then(() => master.role.master()!.requireInSync()).catch((error: unknown) => error);
    expect(isRmqError(refused, 'IN_SYNC_REPLICAS_TOO_FEW') && refused.message).toBe(
      'broker broker-a has 1 in-sync replicas (itself included) and needs 2 (--min-in-sync-replicas) to accept sends; try again once a slave has caught up',
    );
    const slave = await member('slave');
    await slave.role.becomeSlave(master.endpoint);
    await eventually(() => expect(master.role.master()!.status().inSyncReplicas).toBe(2));
    master.role.master()!.requireInSync();
    await master.store.append([message(0, 'with a slave')]);
    await caughtUp(slave, master);
    expect(await bodies(slave.store, 0)).toEqual(['with a slave']);
  });
});
