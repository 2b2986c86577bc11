// A helper process for receive-on-refusing-journal.test.ts: a broker between roles serves a
// receive while its state journal refuses writes (it is a slave's). Prints "rejected: <message>"
// when the receive fails with the journal's refusal; an unhandled rejection stops it with exit
// code 1 instead (Node's default), as it stopped the broker.
import { makeTempDir } from '@rmq/testing';
import { ConsumerService } from '../src/consumer-service';
import { ProducerService } from '../src/producer-service';
import { parseTagExpression } from '../src/tag-filter';
import { openStateFixture } from './state-fixture';

async function main(): Promise<void> {
  const temp = makeTempDir('refusing-journal');
  let nowMs = 1_000_000;
  const clock = { nowMs: () => nowMs };
  const state = await openStateFixture(temp.path, { clock });
  await state.topics.create('T', { queueCount: 1 });
  await new ProducerService(state.store, state.topics).send(Array.from({ length: 3 }, (_, i) => ({
    topic: 'T', body: Buffer.from(`m${i}`), messageId: `id-${i}`, messageType: 'NORMAL' as const, keys: [], bornTimestampMs: 0, bornHost: 'h', userProperties: new Map(),
  })));
  const consumer = new ConsumerService({ store: state.store, topics: state.topics, groups: state.groups, progress: state.progress, clock, secret: state.secret });
  const receive = () => consumer.receive({ group: 'g', topic: 'T', filter: parseTagExpression('*'), countMax: 3, invisibleMs: 1_000, longPollingMs: 0 });
  if ((await receive()).length !== 3) throw new Error('expected three deliveries');
  nowMs += 2_000; // all three due again: each redelivery is recorded while the next message is read
  state.journal.becomeSlave();
  try {
    await receive();
    process.stdout.write('answered\n');
  } catch (error) {
    process.stdout.write(`rejected: ${(error as Error).message}\n`);
  }
  consumer.close();
  await state.close();
  temp.remove();
}

void main();
