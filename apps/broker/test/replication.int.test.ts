// Log shipping between real broker processes, with the official client: a master and slaves
// (--role slave --master) keep byte-identical logs; a slave killed with SIGKILL, or started
// empty, catches up; a send waits for the in-sync slave (here SIGSTOPped) until the master drops
// it after --in-sync-lag-ms; --min-in-sync-replicas refuses sends while the set is too small.
import { rmSync } from 'node:fs';
import { admin, createClient, v2 } from '@rmq/contracts';
import { commitLogSegments, eventually, firstDifference, killAllApps, sampleValue, shutdownOfficialClient, startOfficialProducer, startReplicaGroup, type ReplicaGroup, scrapeMetrics } from '@rmq/testing';

const TOPIC = 'Replicated';
const BODY = Buffer.alloc(700, 0x62);

async function status(endpoint: string): Promise<admin.GetBrokerStatusResponse> {
  const client = createClient(admin.AdminService, endpoint);
  try {
    return await client.getBrokerStatus({}, { deadlineMs: 3_000 });
  } finally {
    client.close();
  }
}

async function topicsOn(endpoint: string): Promise<string[]> {
  const client = createClient(admin.AdminService, endpoint);
  try {
    return (await client.listTopics({}, { deadlineMs: 3_000 })).topics.map((topic) => topic.name);
  } finally {
    client.close();
  }
}

async function sendAll(endpoint: string, count: number, tag: string): Promise<void> {
  const producer = await startOfficialProducer(endpoint);
  try {
    for (let sent = 0; sent < count; sent += 50) {
      await Promise.all(Array.from({ length: Math.min(50, count - sent) }, (_, i) => producer.send({ topic: TOPIC, tag, keys: [`${tag}-${sent + i}`], body: BODY })));
    }
  } finally {
    await shutdownOfficialClient(producer);
  }
}

async function readableOnMaster(group: ReplicaGroup): Promise<number> {
  const client = createClient(admin.AdminService, group.master.endpoints.grpc);
  try {
    const topic = await client.getTopic({ name: TOPIC }, { deadlineMs: 3_000 });
    return topic.queues.reduce((sum, queue) => sum + Number(queue.maxOffset - queue.minOffset), 0);
  } finally {
    client.close();
  }
}

/** Waits until slave `index` has the master's whole log, committed, and compares their segment files. */
async function expectCaughtUp(group: ReplicaGroup, index: number): Promise<void> {
  await eventually(async () => {
    const [master, slave] = [await status(group.master.endpoints.grpc), await status(group.slaves[index]!.endpoints.grpc)];
    if (slave.confirmedOffset !== master.confirmedOffset || slave.committedOffset !== master.committedOffset) {
      throw new Error(`slave-${index + 1} at ${slave.confirmedOffset} (committed ${slave.committedOffset}), master at ${master.confirmedOffset} (committed ${master.committedOffset})`);
    }
  }, { timeoutMs: 20_000 });
  expect(firstDifference(commitLogSegments(group.masterDir), commitLogSegments(group.slaveDirs[index]))).toBeUndefined();
}

describe('replica group: log shipping between processes', () => {
  afterEach(async () => {
    await killAllApps();
  });

  it('keeps two slaves byte-identical through a SIGKILL and a restart from empty', async () => {
    const group = await startReplicaGroup({ slaveCount: 2, brokerArgs: ['--segment-size-mib', '8'] });
    try {
      await group.createTopic(TOPIC);
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(3));
      await sendAll(group.master.endpoints.grpc, 300, 'first');
      expect(await readableOnMaster(group)).toBe(300);
      await expectCaughtUp(group, 0);
      await expectCaughtUp(group, 1);
      // The broker state travels in the log too: the slave knows the topic created on the master.
      await eventually(async () => expect(await topicsOn(group.slaves[0]!.endpoints.grpc)).toContain(TOPIC));

      // SIGKILL a slave and keep sending: the master drops it when its stream breaks.
      await group.slaves[0]!.kill('SIGKILL');
      await sendAll(group.master.endpoints.grpc, 200, 'while-down');
      await group.startSlave(0);
      await expectCaughtUp(group, 0);

      // A slave that lost its data starts from the master's oldest segment.
      await group.slaves[1]!.kill('SIGTERM');
      rmSync(group.slaveDirs[1], { recursive: true, force: true });
      await group.startSlave(1);
      await expectCaughtUp(group, 1);
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(3));
      await sendAll(group.master.endpoints.grpc, 100, 'last');
      expect(await readableOnMaster(group)).toBe(600);
      await expectCaughtUp(group, 0);
      await expectCaughtUp(group, 1);
    } finally {
      await group.stop();
    }
  }, 120_000);

  it('cuts back a returning old master whose log ran ahead of the new one, then follows it', async () => {
    const group = await startReplicaGroup({ slaveCount: 1 });
    try {
      await group.createTopic(TOPIC);
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(2));
      await sendAll(group.master.endpoints.grpc, 60, 'shared');
      await expectCaughtUp(group, 0);
      // The slave dies; the old master goes on alone in epoch 1, then dies too.
      await group.slaves[0]!.kill('SIGKILL');
      await sendAll(group.master.endpoints.grpc, 40, 'old-master-only');
      const oldMasterEnd = (await status(group.master.endpoints.grpc)).confirmedOffset;
      await group.master.kill('SIGKILL');

      // The slave comes back as master of epoch 2 and takes writes.
      group.master = await group.startBroker('new-master', group.slaveDirs[0], 1, { epoch: 2 });
      const sharedEnd = (await status(group.master.endpoints.grpc)).confirmedOffset;
      expect(sharedEnd).toBeLessThan(oldMasterEnd);
      await group.createTopic(TOPIC);
      await sendAll(group.master.endpoints.grpc, 30, 'epoch-2');

      // The old master returns as a slave: its epoch-1 tail beyond the shared point goes.
      const returning = await group.startBroker('old-master', group.masterDir, 0, { following: group.master.endpoints.grpc });
      group.slaves.push(returning);
      await eventually(async () => {
        const [master, slave] = [await status(group.master.endpoints.grpc), await status(returning.endpoints.grpc)];
        if (slave.confirmedOffset !== master.confirmedOffset || slave.committedOffset !== master.committedOffset) throw new Error(`returning at ${slave.confirmedOffset}, master at ${master.confirmedOffset}`);
      }, { timeoutMs: 20_000 });
      expect(returning.logs.find((line) => line.msg === 'log diverged from the master\'s: cutting it back')).toMatchObject({ toLogOffset: Number(sharedEnd), fromLogOffset: Number(oldMasterEnd) });
      expect(firstDifference(commitLogSegments(group.slaveDirs[0]), commitLogSegments(group.masterDir))).toBeUndefined();
      expect(commitLogSegments(group.masterDir)).toEqual(commitLogSegments(group.slaveDirs[0]));
    } finally {
      await group.stop();
    }
  }, 90_000);

  it('holds a send while the in-sync slave is stopped, until it leaves the set after --in-sync-lag-ms', async () => {
    const lagMs = 1_500;
    const group = await startReplicaGroup({ slaveCount: 1, masterArgs: ['--in-sync-lag-ms', String(lagMs)] });
    try {
      await group.createTopic(TOPIC);
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(2));
      const producer = await startOfficialProducer(group.master.endpoints.grpc);
      try {
        await producer.send({ topic: TOPIC, body: BODY }); // the route and connection are warm
        process.kill(group.slaves[0]!.pid, 'SIGSTOP');
        const startedMs = performance.now();
        await producer.send({ topic: TOPIC, body: BODY });
        const elapsedMs = performance.now() - startedMs;
        // The slave was caught up when the send arrived, so the master waits out the bound (less
        // one evaluation interval of 50 ms) before it commits without it.
        expect(elapsedMs).toBeGreaterThanOrEqual(lagMs - 100);
        const master = await status(group.master.endpoints.grpc);
        expect(master.inSyncReplicas).toBe(1);
        expect(master.slaves.map((slave) => slave.inSync)).toEqual([false]);
        // The master's metrics show how far behind the stopped slave is, in bytes and in seconds.
        const metrics = await scrapeMetrics(group.master);
        expect(sampleValue(metrics, 'rmq_replication_slave_in_sync', { replica: '1' })).toBe(0);
        expect(sampleValue(metrics, 'rmq_replication_slave_lag_bytes', { replica: '1' })).toBeGreaterThan(0);
        expect(sampleValue(metrics, 'rmq_replication_slave_lag_seconds', { replica: '1' })).toBeGreaterThanOrEqual((lagMs - 100) / 1000);
        expect(group.master.logs.some((line) => line.msg === 'slave left the in-sync set')).toBe(true);
      } finally {
        process.kill(group.slaves[0]!.pid, 'SIGCONT');
        await shutdownOfficialClient(producer);
      }
      // Resumed, it catches up and joins again.
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(2), { timeoutMs: 15_000 });
      await expectCaughtUp(group, 0);
    } finally {
      await group.stop();
    }
  }, 60_000);

  it('refuses sends with HA_NOT_AVAILABLE while fewer replicas than --min-in-sync-replicas are in sync', async () => {
    const group = await startReplicaGroup({ slaveCount: 1, slavesLater: true, masterArgs: ['--min-in-sync-replicas', '2'] });
    try {
      await group.createTopic(TOPIC);
      const producer = await startOfficialProducer(group.master.endpoints.grpc);
      try {
        const refused = await producer.send({ topic: TOPIC, body: BODY }).catch((error: unknown) => error);
        expect(refused).toMatchObject({ code: v2.Code.HA_NOT_AVAILABLE });
        expect(String((refused as Error).message)).toContain('has 1 in-sync replicas (itself included) and needs 2 (--min-in-sync-replicas)');
      } finally {
        await shutdownOfficialClient(producer);
      }
      await group.startSlave(0);
      await eventually(async () => expect((await status(group.master.endpoints.grpc)).inSyncReplicas).toBe(2), { timeoutMs: 15_000 });
      await sendAll(group.master.endpoints.grpc, 20, 'accepted');
      await expectCaughtUp(group, 0);
      const [masterMetrics, slaveMetrics] = await Promise.all([group.master, group.slaves[0]!].map(scrapeMetrics));
      expect(sampleValue(masterMetrics, 'rmq_replication_role', { role: 'master' })).toBe(1);
      expect(sampleValue(masterMetrics, 'rmq_replication_in_sync_replicas')).toBe(2);
      expect(sampleValue(masterMetrics, 'rmq_replication_slave_in_sync', { replica: '1' })).toBe(1);
      expect(sampleValue(masterMetrics, 'rmq_replication_committed_offset_bytes')).toBeGreaterThan(0);
      expect(sampleValue(slaveMetrics, 'rmq_replication_role', { role: 'slave' })).toBe(1);
      expect(sampleValue(slaveMetrics, 'rmq_replication_epoch')).toBe(1);
    } finally {
      await group.stop();
    }
  }, 60_000);

  it('forwards a send made to a slave to its master (a slave never writes what it did not copy)', async () => {
    const group = await startReplicaGroup({ slaveCount: 1 });
    try {
      await group.createTopic(TOPIC);
      const client = createClient(v2.MessagingService, group.slaves[0]!.endpoints.grpc);
      try {
        const reply = await client.sendMessage({ messages: [{ topic: { name: TOPIC }, body: Buffer.from('x'), systemProperties: { messageId: 'on-slave', messageType: v2.MessageType.NORMAL } }] });
        // A client's send reaches the slave's store never: the slave forwards it to its master
        // (the failover path), which answers; the slave's own store still refuses local writes.
        expect(reply.status?.code).toBe(v2.Code.OK);
      } finally {
        client.close();
      }
    } finally {
      await group.stop();
    }
  }, 60_000);
});
