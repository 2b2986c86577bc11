// The controller state store's contract, run over both stores: the file store (one controller)
// and the etcd store (a real one-node etcd), plus what only the etcd store has: leadership.
import { createLogger } from '@rmq/observability';
import type { ReplicaGroup } from '@rmq/replication';
import { eventually, makeTempDir, startEtcdCluster, stopAllEtcdClusters, type EtcdCluster } from '@rmq/testing';
import type { Etcd3 } from 'etcd3';
import { ElectionWatch } from '../src/election-watch';
import { connectEtcd, EtcdLeadership, EtcdStateStore } from '../src/etcd-state';
import { FileStateStore } from '../src/state-file';
import type { StateStore } from '../src/state-store';

const quiet = createLogger({}, { write: () => undefined });

function group(brokerName: string, epoch: number): ReplicaGroup {
  return {
    clusterName: 'c1',
    brokerName,
    epoch,
    masterBrokerId: 1,
    masterIncarnation: `inc-${epoch}`,
    inSyncBrokerIds: [1],
    inSyncSetVersion: epoch,
    members: [{ brokerId: 1, endpoint: '127.0.0.1:1' }, { brokerId: 2, endpoint: '127.0.0.1:2' }],
  };
}

interface Harness {
  open(): Promise<StateStore>;
}

let etcd: EtcdCluster | undefined;
const clients: Etcd3[] = [];
const leaderships: EtcdLeadership[] = [];
const dir = makeTempDir('state-store');

async function leadingEtcdStore(prefix: string): Promise<{ store: EtcdStateStore; leadership: EtcdLeadership }> {
  etcd ??= await startEtcdCluster(1);
  const client = connectEtcd(etcd.endpoints);
  clients.push(client);
  const leadership = new EtcdLeadership(client, prefix, `127.0.0.1:${10_000 + leaderships.length}`, quiet);
  leaderships.push(leadership);
  await leadership.start({ onLeading: () => undefined, onFollowing: () => undefined });
  return { store: new EtcdStateStore(client, prefix, leadership), leadership };
}

const harnesses: [string, () => Harness][] = [
  ['file', () => {
    const path = makeTempDir('file-store').path;
    return { open: async () => new FileStateStore(path) };
  }],
  ['etcd', () => {
    const prefix = `/test/${Math.random().toString(36).slice(2)}`;
    let previous: EtcdLeadership | undefined;
    return {
      // A reopen is a new controller process: the previous one steps down first.
      open: async () => {
        await previous?.close();
        const { store, leadership } = await leadingEtcdStore(prefix);
        previous = leadership;
        await eventually(() => expect(leadership.isLeader()).toBe(true), { timeoutMs: 10_000 });
        return store;
      },
    };
  }],
];

afterAll(async () => {
  await Promise.allSettled(leaderships.map((leadership) => leadership.close()));
  for (const client of clients) client.close();
  await stopAllEtcdClusters();
  dir.remove();
});

describe.each(harnesses)('the %s state store', (_kind, makeHarness) => {
  it('starts empty, creates a group once, and refuses a second create', async () => {
    const store = await makeHarness().open();
    expect(await store.load()).toEqual([]);
    const created = await store.compareAndSet(group('a', 1), undefined);
    expect(created.ok).toBe(true);
    const again = await store.compareAndSet(group('a', 2), undefined);
    expect(again).toMatchObject({ ok: false, leadershipLost: false, current: { group: group('a', 1) } });
  }, 30_000);

  it('writes only over the revision it read: a stale revision gets the current state back', async () => {
    const store = await makeHarness().open();
    await store.load();
    const first = await store.compareAndSet(group('b', 1), undefined);
    if (!first.ok) throw new Error('create failed');
    const second = await store.compareAndSet(group('b', 2), first.revision);
    if (!second.ok) throw new Error('update failed');
    expect(second.revision).not.toBe(first.revision);
    const stale = await store.compareAndSet(group('b', 3), first.revision);
    expect(stale).toMatchObject({ ok: false, leadershipLost: false, current: { group: group('b', 2), revision: second.revision } });
  }, 30_000);

  it('keeps every committed group for the next controller that opens it', async () => {
    const harness = makeHarness();
    const store = await harness.open();
    await store.load();
    await store.compareAndSet(group('c', 1), undefined);
    await store.compareAndSet(group('d', 4), undefined);
    await store.close();
    const reopened = await harness.open();
    const loaded = await reopened.load();
    expect(loaded.map((versioned) => versioned.group).sort((x, y) => x.brokerName.localeCompare(y.brokerName))).toEqual([group('c', 1), group('d', 4)]);
    // The revisions read back are the ones to write over.
    const d = loaded.find((versioned) => versioned.group.brokerName === 'd')!;
    expect((await reopened.compareAndSet(group('d', 5), d.revision)).ok).toBe(true);
  }, 30_000);
});

describe('etcd leadership', () => {
  it('lets one controller lead; the other cannot commit until the leader resigns, then leads', async () => {
    const prefix = `/test/leadership-${Math.random().toString(36).slice(2)}`;
    const first = await leadingEtcdStore(prefix);
    await eventually(() => expect(first.leadership.isLeader()).toBe(true), { timeoutMs: 10_000 });
    const second = await leadingEtcdStore(prefix);
    await eventually(() => expect(second.leadership.leaderEndpoint()).toBe(first.leadership.leaderEndpoint()), { timeoutMs: 10_000 });
    expect(second.leadership.isLeader()).toBe(false);
    expect(await second.store.compareAndSet(group('e', 1), undefined)).toEqual({ ok: false, current: undefined, leadershipLost: true });
    expect((await first.store.compareAndSet(group('e', 1), undefined)).ok).toBe(true);

    await first.leadership.close();
    await eventually(() => expect(second.leadership.isLeader()).toBe(true), { timeoutMs: 10_000 });
    const [current] = await second.store.load();
    expect((await second.store.compareAndSet(group('e', 2), current.revision)).ok).toBe(true);
    // The old leader's write cannot commit any more, whatever it believes.
    expect(await first.store.compareAndSet(group('e', 9), current.revision)).toMatchObject({ ok: false, leadershipLost: true });
  }, 30_000);

  it('starts without etcd, follows nobody, and leads once etcd answers', async () => {
    const own = await startEtcdCluster(1);
    await own.members[0].kill('SIGKILL');
    const client = connectEtcd(own.endpoints);
    clients.push(client);
    const leadership = new EtcdLeadership(client, '/test/late-etcd', '127.0.0.1:19999', quiet);
    leaderships.push(leadership);
    const followed: (string | undefined)[] = [];
    await leadership.start({ onLeading: () => undefined, onFollowing: (leader) => followed.push(leader) });
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.leaderEndpoint()).toBeUndefined();
    await own.members[0].start();
    await own.waitHealthy();
    await eventually(() => expect(leadership.isLeader()).toBe(true), { timeoutMs: 15_000 });
    expect(leadership.leaderEndpoint()).toBe('127.0.0.1:19999');
  }, 30_000);

  it('names the oldest candidate, also when several appear at once while nobody led, and follows deletes', async () => {
    etcd ??= await startEtcdCluster(1);
    const client = connectEtcd(etcd.endpoints);
    clients.push(client);
    const keys = client.namespace(`/test/watch-${Math.random().toString(36).slice(2)}/`);
    const seen: (string | undefined)[] = [];
    const watch = new ElectionWatch(keys, { onLeader: (leader) => seen.push(leader), onError: (error) => seen.push(`error ${String(error)}`) });
    try {
      expect(await watch.start()).toBeUndefined();
      // Three candidates in one transaction reach the watch as one batch: etcd3's own observer
      // named the last of them. Their create revisions tie, so the oldest is the first by key.
      await client.if('unused', 'Create', '==', 0).then(
        client.put(`${keys.prefix.toString()}c1`).value('one'),
        client.put(`${keys.prefix.toString()}c2`).value('two'),
        client.put(`${keys.prefix.toString()}c3`).value('three'),
      ).commit();
      await keys.put('c4').value('four');
      await eventually(() => expect(watch.current()).toBe('one'));
      await keys.delete().key('c1');
      await eventually(() => expect(watch.current()).toBe('two'));
      await keys.delete().key('c3'); // not the leader: nothing changes
      await keys.delete().key('c2');
      await eventually(() => expect(watch.current()).toBe('four'));
      await keys.delete().key('c4');
      await eventually(() => expect(watch.current()).toBeUndefined());
      expect(seen).toEqual(['one', 'two', 'four', undefined]);
    } finally {
      await watch.stop();
    }
  }, 30_000);
});
