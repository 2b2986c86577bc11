// The process the crash test kills: opens a store, then appends from several concurrent loops
// until it is killed, printing "A <id> <id> ..." on stdout once each append is acknowledged
// (stdout is a pipe, written synchronously on Linux, so a printed ack was really given).
// Usage: crash-writer <dataDir> <sync|async> <round> <segmentSizeBytes>
import { MessageStore, type AppendInput } from '../src/message-store';

const [dataDir, flushMode, round, segmentSizeBytes] = process.argv.slice(2);
if (!dataDir || (flushMode !== 'sync' && flushMode !== 'async') || !round || !segmentSizeBytes) {
  console.error('usage: crash-writer <dataDir> <sync|async> <round> <segmentSizeBytes>');
  process.exit(2);
}

const TOPICS = ['CrashA', 'CrashB'];
const QUEUE_COUNT = 3;
const APPENDERS = 4;

/** The body of a record is its id, a colon and `fillBytes` x's: the test recomputes it from the id. */
function crashRecord(id: string, fillBytes: number, slot: number): AppendInput & { properties: Map<string, string> } {
  return {
    topic: TOPICS[slot % TOPICS.length],
    queueId: slot % QUEUE_COUNT,
    tagHash: 0,
    flags: 0,
    bornTimestampMs: Date.now(),
    properties: new Map([['id', id]]),
    body: Buffer.from(`${id}:${'x'.repeat(fillBytes)}`),
  };
}

async function main(): Promise<void> {
  const store = await MessageStore.open({ dataDir, flushMode: flushMode as 'sync' | 'async', segmentSizeBytes: Number(segmentSizeBytes), checkpointIntervalMs: 15, flushIntervalMs: 10 });
  process.stdout.write('ready\n');
  await Promise.all(
    Array.from({ length: APPENDERS }, async (_, appender) => {
      for (let n = 0; ; n++) {
        const batch = Array.from({ length: 1 + Math.floor(Math.random() * 8) }, (_, i) => {
          const id = `${round}-${appender}-${n}-${i}`;
          return crashRecord(id, Math.floor(Math.random() * 3000), appender + n + i);
        });
        await store.append(batch);
        process.stdout.write(`A ${batch.map((record) => record.properties.get('id')).join(' ')}\n`);
      }
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
