import { isRmqError, systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { makeTempDir } from '@rmq/testing';
import { PERM_READ, PERM_WRITE, TopicRegistry } from './topic-registry';
import { StateJournal } from './state/state-journal';

/** A registry over a fresh journal of its own store; `close` closes both. */
async function openTopics(dataDir: string): Promise<TopicRegistry & { close(): Promise<void> }> {
  const store = await MessageStore.open({ dataDir, flushMode: 'sync' });
  const journal = new StateJournal({ store, dataDir, clock: systemClock });
  const topics = new TopicRegistry(journal);
  await journal.open();
  return Object.assign(topics, { close: async () => (await journal.close(), await store.close()) });
}

describe('TopicRegistry.update', () => {
  let temp: ReturnType<typeof makeTempDir>;
  const afterTest: (() => Promise<void>)[] = [];
  beforeEach(() => (temp = makeTempDir('topics')));
  afterEach(async () => {
    for (const step of afterTest.splice(0)) await step();
    temp.remove();
  });

  it('grows the queue count and changes the permission, and keeps it across a reopen', async () => {
    const topics = await openTopics(temp.path);
    await topics.create('T', { queueCount: 4 });
    expect(await topics.update('T', { queueCount: 8 })).toMatchObject({ queueCount: 8, perm: PERM_READ | PERM_WRITE });
    expect(await topics.update('T', { perm: PERM_READ })).toMatchObject({ queueCount: 8, perm: PERM_READ });
    await topics.close();
    const reopened = await openTopics(temp.path);
    expect(reopened.get('T')).toMatchObject({ queueCount: 8, perm: PERM_READ, messageType: 'NORMAL' });
    await reopened.close();
  });

  it('refuses to shrink a topic, saying why, and changes nothing', async () => {
    const topics = await openTopics(temp.path);
    afterTest.push(() => topics.close());
    await topics.create('T', { queueCount: 4 });
    await expect(topics.update('T', { queueCount: 2 })).rejects.toThrow('topic T has 4 queues; a queue count can only grow (the messages in queues 2 to 3 would be stranded)');
    await expect(topics.update('T', { perm: 1 })).rejects.toThrow('permission must combine READ (4) and WRITE (2), got 1');
    expect(topics.get('T')).toMatchObject({ queueCount: 4, perm: PERM_READ | PERM_WRITE });
  });

  it('answers TOPIC_NOT_FOUND for a topic that does not exist', async () => {
    const topics = await openTopics(temp.path);
    afterTest.push(() => topics.close());
    const error = await topics.update('Missing', { queueCount: 8 }).catch((caught: unknown) => caught);
    expect(isRmqError(error, 'TOPIC_NOT_FOUND')).toBe(true);
  });
});
