import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRmqError } from '@rmq/base';
import { makeTempDir } from '@rmq/testing';
import { PERM_READ, PERM_WRITE, TopicRegistry } from './topic-registry';

describe('TopicRegistry.update', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('topics')));
  afterEach(() => temp.remove());

  it('grows the queue count and changes the permission, and keeps it across a reopen', async () => {
    const topics = await TopicRegistry.open(temp.path);
    await topics.create('T', { queueCount: 4 });
    expect(await topics.update('T', { queueCount: 8 })).toMatchObject({ queueCount: 8, perm: PERM_READ | PERM_WRITE });
    expect(await topics.update('T', { perm: PERM_READ })).toMatchObject({ queueCount: 8, perm: PERM_READ });
    const reopened = await TopicRegistry.open(temp.path);
    expect(reopened.get('T')).toMatchObject({ queueCount: 8, perm: PERM_READ, messageType: 'NORMAL' });
    expect(readFileSync(join(temp.path, 'config', 'topics.json'), 'utf8')).toContain('"queueCount": 8');
  });

  it('refuses to shrink a topic, saying why, and changes nothing', async () => {
    const topics = await TopicRegistry.open(temp.path);
    await topics.create('T', { queueCount: 4 });
    await expect(topics.update('T', { queueCount: 2 })).rejects.toThrow('topic T has 4 queues; a queue count can only grow (the messages in queues 2 to 3 would be stranded)');
    await expect(topics.update('T', { perm: 1 })).rejects.toThrow('permission must combine READ (4) and WRITE (2), got 1');
    expect(topics.get('T')).toMatchObject({ queueCount: 4, perm: PERM_READ | PERM_WRITE });
  });

  it('answers TOPIC_NOT_FOUND for a topic that does not exist', async () => {
    const topics = await TopicRegistry.open(temp.path);
    const error = await topics.update('Missing', { queueCount: 8 }).catch((caught: unknown) => caught);
    expect(isRmqError(error, 'TOPIC_NOT_FOUND')).toBe(true);
  });
});
