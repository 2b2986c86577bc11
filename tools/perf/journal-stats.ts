// Counts the state records in a stopped broker's data folder (after a benchmark run): records and
// body bytes by kind, and the changes by section and op (JSON records `c` and binary records `b`).
// Usage: node tools/run-ts.mjs tools/perf/journal-stats.ts <data-dir> [messages consumed]
import { join } from 'node:path';
import { STATE_TOPIC } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { readChangeBody, type Entry } from '../../libs/messaging/src/state/change-body';
import { decodeProgressChange } from '../../libs/messaging/src/progress-codec';

async function main(): Promise<void> {
  const [dataDir, messagesText] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: journal-stats.ts <broker data dir> [messages consumed, for per-message figures]');
  const messages = Number(messagesText ?? 0);
  const store = await MessageStore.open({ dataDir: join(dataDir, 'store'), flushMode: 'async' });
  const kinds = new Map<string, { records: number; bodyBytes: number }>();
  const changes = new Map<string, number>();
  const count = ([section, change]: Entry, format: string) => {
    const name = `${section}.${(change as { op?: string }).op ?? '?'} (${format})`;
    changes.set(name, (changes.get(name) ?? 0) + 1);
  };
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
      if (kind === 'c') for (const entry of JSON.parse(record.body.toString('utf8')) as Entry[]) count(entry, 'json');
      if (kind === 'b') readChangeBody(record.body, { json: (entry) => count(entry, 'json'), binary: (_type, reader) => count(['progress', decodeProgressChange(reader)], 'bytes') });
    }
    next = nextQueueOffset;
  }
  await store.close();
  const per = (value: number) => (messages > 0 ? ` (${(value / messages).toFixed(3)} per message)` : '');
  for (const [kind, { records, bodyBytes }] of kinds) console.log(`kind ${kind}: ${records} records${per(records)}, ${bodyBytes} body bytes${per(bodyBytes)}`);
  for (const [name, n] of [...changes].sort((a, b) => b[1] - a[1])) console.log(`  ${name}: ${n}${per(n)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
