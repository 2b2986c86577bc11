import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { makeTempDir } from '@rmq/testing';
import { TopicRegistry } from './topic-registry';
import { StateJournal } from './state/state-journal';

async function openTopics(dataDir: string): Promise<TopicRegistry & { close(): Promise<void> }> {
  const store = await MessageStore.open({ dataDir, flushMode: 'sync' });
  const journal = new StateJournal({ store, dataDir, clock: systemClock });
  const topics = new TopicRegistry(journal);
  await journal.open();
  return Object.assign(topics, { close: async () => (await journal.close(), await store.close()) });
}

describe('topic rules that protect consumers', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(() => (temp = makeTempDir('topic-guards')));
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    temp.remove();
  });

  it('keeps dead-letter topics NORMAL, whatever a person asks for', async () => {
    const topics = await openTopics(temp.path);
    closers.push(() => topics.close());
    await expect(topics.create('%DLQ%billing', { messageType: 'FIFO' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('dead-letter topic; it can only be NORMAL') });
    expect((await topics.create('%DLQ%billing', { queueCount: 4 })).topic).toMatchObject({ messageType: 'NORMAL', queueCount: 4 });
  });

  it('refuses to add queues to a FIFO topic unless allowed, and lets NORMAL topics grow', async () => {
    const topics = await openTopics(temp.path);
    closers.push(() => topics.close());
    await topics.create('Orders', { queueCount: 4, messageType: 'FIFO' });
    await topics.create('Events', { queueCount: 4 });
    await expect(topics.update('Orders', { queueCount: 8 })).rejects.toThrow(/is FIFO: more queues would move message groups/);
    expect((await topics.update('Orders', { perm: 4 })).perm).toBe(4); // other changes are fine
    expect((await topics.update('Orders', { queueCount: 8 }, { allowFifoGrowth: true })).queueCount).toBe(8);
    expect((await topics.update('Events', { queueCount: 8 })).queueCount).toBe(8);
  });
});
