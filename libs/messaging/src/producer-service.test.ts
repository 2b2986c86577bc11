import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AppendInput, AppendResult, MessageStore } from '@rmq/store';
import { ProducerService } from './producer-service';
import type { OutgoingMessage } from './message-properties';
import type { TopicConfig, TopicRegistry } from './topic-registry';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TOPIC = { name: 'T', perm: 6, messageType: 'NORMAL', queueCount: 4 } as TopicConfig;
const topics = { require: () => TOPIC } as unknown as TopicRegistry;

/** A store whose appends wait until `commit()`, as an fdatasync keeps them waiting. */
function waitingStore(): { store: MessageStore; commit: () => void } {
  let commit = (): void => undefined;
  const store = {
    append: (inputs: readonly AppendInput[]) => new Promise<AppendResult[]>((resolve) => {
      commit = () => resolve(inputs.map((_, i) => ({ logOffset: 100 * i, queueOffset: i, storeTimestampMs: 0 })));
    }),
  } as unknown as MessageStore;
  return { store, commit: () => commit() };
}

function message(i: number): OutgoingMessage {
  return { topic: 'T', body: Buffer.from(`body ${i}`), messageId: `id-${i}`, messageType: 'NORMAL', keys: [], bornTimestampMs: 1, bornHost: 'h', userProperties: new Map() };
}

describe('ProducerService.send', () => {
  it('keeps none of the messages while their append waits for its commit', async () => {
    const { store, commit } = waitingStore();
    const producer = new ProducerService(store, topics);
    // The fake store keeps the inputs too: only the messages are watched, through weak references.
    const refs: WeakRef<OutgoingMessage>[] = [];
    const sent = (() => {
      const messages = [message(0), message(1), message(2)];
      for (const m of messages) refs.push(new WeakRef(m));
      return producer.send(messages);
    })();
    await new Promise((resolve) => setImmediate(resolve)); // weak targets stay alive until the job that made them ends
    gc();
    expect(refs.map((ref) => ref.deref())).toEqual([undefined, undefined, undefined]);
    commit();
    expect(await sent).toEqual([0, 1, 2].map((i) => ({ messageId: `id-${i}`, queueId: expect.any(Number), queueOffset: i, logOffset: 100 * i })));
  });
});
