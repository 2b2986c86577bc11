// The slave's per-record work in one process, without gRPC: a master store is filled with records like
// peerbench's (1 KiB bodies, a message id, born host, type and body digest, 256 per append, 8 queues), its log
// is read back in stretches of up to 1 MiB (as the master ships them), then a slave store appends every
// stretch (appendReplicated: check, place, write, confirm; async flush so fdatasync stays out). Prints the
// slave's CPU µs per record (the process's CPU over the appends). Usage:
//   node tools/run-ts.mjs tools/perf/replica-inproc.ts [--count 200000] [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { MessageStore, tagHashOf, type AppendInput } from '@rmq/store';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const indexed = { messageId: '__MESSAGE_ID', keys: '__KEYS' };

async function main(): Promise<void> {
  const count = Number(arg('--count', '200000'));
  const rounds = Number(arg('--rounds', '3'));
  const dir = mkdtempSync(join(tmpdir(), 'replica-inproc-'));
  try {
    const master = await MessageStore.open({ dataDir: join(dir, 'master'), flushMode: 'async', indexedProperties: indexed });
    const body = randomBytes(1024);
    for (let sent = 0; sent < count; sent += 256) {
      const inputs: AppendInput[] = [];
      for (let i = 0; i < 256; i++) {
        const properties = ['__MESSAGE_ID', randomUUID().replace(/-/g, '').toUpperCase(), '__MESSAGE_TYPE', 'NORMAL', '__BORN_HOST', 'bench-host', '__BODY_MD5', 'D41D8CD98F00B204E9800998ECF8427E'];
        inputs.push({ topic: 'bench-topic', queueId: (sent / 256) % 8, tagHash: tagHashOf(undefined), flags: 0, bornTimestampMs: 1_700_000_000_000, properties: properties as never, body });
      }
      await master.append(inputs);
    }
    const stretches: { at: number; bytes: Buffer }[] = [];
    for (let at = 0; at < master.writtenLogOffset; ) {
      const stretch = await master.readLog(at, master.writtenLogOffset, 1024 * 1024);
      stretches.push({ at, bytes: Buffer.from(stretch.bytes) });
      at = stretch.endLogOffset;
    }
    await master.close();
    for (let round = 1; round <= rounds; round++) {
      rmSync(join(dir, 'slave'), { recursive: true, force: true });
      const slave = await MessageStore.open({ dataDir: join(dir, 'slave'), flushMode: 'async', indexedProperties: indexed });
      slave.setCommitPolicy('replicated');
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      let records = 0;
      for (const { at, bytes } of stretches) records += (await slave.appendReplicated(at, Buffer.from(bytes))).length;
      const cpu = process.cpuUsage(cpu0);
      const ms = performance.now() - started;
      console.log(`round ${round}: ${records} records, ${((cpu.user + cpu.system) / records).toFixed(2)} µs/record CPU (user ${(cpu.user / records).toFixed(2)}), ${Math.round(records / (ms / 1000))} records/s`);
      await slave.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
