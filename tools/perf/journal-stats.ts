// Counts the state records in a broker's data folder (after a benchmark run): records and body
// bytes by kind, and for JSON change records the changes by section and op. Read-only use of a
// stopped broker's store. Usage: node tools/run-ts.mjs tools/perf/journal-stats.ts <data-dir> [messages]
import { join } from 'node:path';
import { STATE_TOPIC } from '@rmq/base';
import { MessageStore } from '@rmq/store';

const [dataDir, messagesText] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: journal-stats.ts <broker data dir> [messages consumed, for per-message figures]');
  process.exit(2);
}
const messages = Number(messagesText ?? 0);

async function main(): Promise<void> {
const store = await MessageStore.open({ dataDir: join(dataDir, 'store'), flushMode: 'async' });
const kinds = new Map<string, { records: number; bodyBytes: number }>();
const changes = new Map<string, number>();
const { minQueueOffset, maxQueueOffset } = store.queueRange(STATE_TOPIC, 0);
for (let next = minQueueOffset; next < maxQueueOffset; ) {
  const { records, nextQueueOffset } = await store.read(STATE_TOPIC, 0, next, { countMax: 256 });
  if (records.length === 0) break;
  for (const record of records) {
    const kind = record.properties.get('k') ?? '?';
    const totals = kinds.get(kind) ?? { records: 0, bodyBytes: 0 };
    totals.records++;
    totals.bodyBytes += record.body.length;
    kinds.set(kind, totals);
    if (kind === 'c') {
      for (const [section, change] of JSON.parse(record.body.toString('utf8')) as [string, { op?: string }][]) {
        const name = `${section}.${change.op ?? '?'}`;
        changes.set(name, (changes.get(name) ?? 0) + 1);
      }
    }
  }
  next = nextQueueOffset;
}
await store.close();
const per = (value: number) => (messages > 0 ? ` (${(value / messages).toFixed(3)} per message)` : '');
for (const [kind, { records, bodyBytes }] of kinds) console.log(`kind ${kind}: ${records} records${per(records)}, ${bodyBytes} body bytes${per(bodyBytes)}`);
for (const [name, count] of [...changes].sort((a, b) => b[1] - a[1])) console.log(`  ${name}: ${count}${per(count)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
