// The broker as a process: health, metrics, auto-create, clean shutdown.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, v2 } from '@rmq/contracts';
import { scrapeMetrics } from '@rmq/testing';
import { useLocalCluster } from './local-cluster';

describe('broker process', () => {
  const local = useLocalCluster({ brokerArgs: ['--auto-create-topics', '--default-queue-count', '4'] });

  it('creates an unknown topic on first send when auto-create is on, and routes it', async () => {
    const client = createClient(v2.MessagingService, local.cluster.endpoint);
    try {
      const sent = await client.sendMessage({ messages: [{ topic: { name: 'AutoTopic' }, body: Buffer.from('x'), systemProperties: { messageId: 'auto-1', messageType: v2.MessageType.NORMAL } }] });
      expect(sent.status?.code).toBe(v2.Code.OK);
      expect(sent.entries[0].messageId).toBe('auto-1');
      const route = await client.queryRoute({ topic: { name: 'AutoTopic' } });
      expect(route.messageQueues.map((q) => q.id)).toEqual([0, 1, 2, 3]);
      expect(route.messageQueues[0].broker?.endpoints?.addresses[0]).toMatchObject({ host: '127.0.0.1', port: Number(local.cluster.endpoint.split(':')[1]) });
      expect(route.messageQueues[0].permission).toBe(v2.Permission.READ_WRITE);
    } finally {
      client.close();
    }
  });

  it('serves /health and RocketMQ-named series on /metrics', async () => {
    const http = `http://${local.cluster.broker.endpoints.http}`;
    expect((await fetch(`${http}/health`)).status).toBe(200);
    const metrics = await scrapeMetrics(local.cluster.broker);
    expect(metrics).toMatch(/rocketmq_messages_in_total\{topic="AutoTopic",message_type="normal".*\} 1/);
    expect(metrics).toContain('rocketmq_rpc_latency_bucket');
    expect(metrics).toMatch(/rmq_store_flush_mode\{mode="sync".*\} 1/);
    // The send above was fdatasynced (sync mode): the fsync histogram has counted it.
    expect(Number(/rmq_store_fsync_latency_ms_count\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/rocketmq_storage_size\{[^}]*\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/rocketmq_storage_dispatch_behind_bytes\{[^}]*\} 0/);
    expect(metrics).toMatch(/rmq_store_writes_refused\{[^}]*\} 0/);
  });

  it('stops cleanly on SIGTERM and starts again from a clean shutdown', async () => {
    const exit = await local.cluster.broker.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    await local.cluster.restartBroker('SIGTERM');
    const recovered = local.cluster.broker.logs.find((line) => line.msg === 'store recovered');
    expect(recovered).toMatchObject({ cleanShutdown: true, recordsReplayed: 0 });
  });

  it('after a SIGKILL, cuts the log at a corrupted record, says where and why, and keeps serving', async () => {
    const client = createClient(v2.MessagingService, local.cluster.endpoint);
    const send = (id: string) => client.sendMessage({ messages: [{ topic: { name: 'AutoTopic' }, body: Buffer.from(`body of ${id}`), systemProperties: { messageId: id, messageType: v2.MessageType.NORMAL } }] });
    try {
      for (const id of ['kept-1', 'kept-2', 'damaged']) expect((await send(id)).status?.code).toBe(v2.Code.OK);
      const segment = join(local.cluster.dataDir, 'store', 'commitlog', '0'.repeat(20));
      await local.cluster.restartBroker('SIGKILL', () => {
        // A record torn by the kill at the log's end: a copy of the last one with a damaged body.
        // (Damage below the store's checkpoint stops the broker instead: accept-data-loss.int.test.ts.)
        const bytes = readFileSync(segment);
        const last = lastRecord(bytes);
        const torn = Buffer.from(bytes.subarray(last.start, last.end));
        torn[torn.length - 3] ^= 0xff;
        writeFileSync(segment, Buffer.concat([bytes.subarray(0, last.end), torn]));
      });
      const cut = local.cluster.broker.logs.find((line) => line.msg?.toString().startsWith('commit log cut during recovery'));
      expect(cut).toMatchObject({ level: 'warn', reason: 'CRC mismatch' });
      expect((await send('after-restart')).status?.code).toBe(v2.Code.OK);
    } finally {
      client.close();
    }
  });

  it('exits with code 2 and names the option when an option is bad', async () => {
    const { spawnSync } = await import('node:child_process');
    const { appMainPath } = await import('@rmq/testing');
    const run = spawnSync(process.execPath, [appMainPath('broker'), '--data-dir', local.cluster.dataDir, '--flush-mode', 'maybe'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--flush-mode must be one of sync, async, got "maybe"');
    const limits = spawnSync(process.execPath, [appMainPath('broker'), '--data-dir', local.cluster.dataDir, '--disk-high-water-percent', '90', '--disk-hard-limit-percent', '80'], { encoding: 'utf8' });
    expect(limits.status).toBe(2);
    expect(limits.stderr).toContain('--disk-hard-limit-percent (80) must be above --disk-high-water-percent (90)');
  });

  it('exits with code 2 and names the bad part of a retry schedule', async () => {
    const { spawnSync } = await import('node:child_process');
    const { appMainPath } = await import('@rmq/testing');
    const run = spawnSync(process.execPath, [appMainPath('broker'), '--data-dir', local.cluster.dataDir, '--retry-delays', '10s,soon'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--retry-delays: retry delays "10s,soon" are not valid: "soon" is not a duration such as 500ms, 10s, 1m or 2h');
  });
});

/** The size of the last record of a segment's bytes (records start with their u32 size). */
/** Where the last record of a segment file lies: the walk stops at the zeros written ahead of the log's end, or the file's end. */
function lastRecord(segment: Buffer): { start: number; end: number } {
  let start = 0;
  let at = 0;
  while (at + 4 <= segment.length) {
    const sizeBytes = segment.readUInt32BE(at);
    if (sizeBytes === 0) break;
    start = at;
    at += sizeBytes;
  }
  return { start, end: at };
}
