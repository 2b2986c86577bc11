import { makeTempDir } from '@rmq/testing';
import { openStateFixture, type StateFixture } from '../test/state-fixture';

describe('topic rules that protect consumers', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let fixture: StateFixture;
  beforeEach(async () => {
    temp = makeTempDir('topic-guards');
    fixture = await openStateFixture(temp.path);
  });
  afterEach(async () => {
    await fixture.close();
    temp.remove();
  });

  it('keeps dead-letter topics NORMAL, whatever a person asks for', async () => {
    const topics = fixture.topics;
    await expect(topics.create('%DLQ%billing', { messageType: 'FIFO' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('dead-letter topic; it can only be NORMAL') });
    expect((await topics.create('%DLQ%billing', { queueCount: 4 })).topic).toMatchObject({ messageType: 'NORMAL', queueCount: 4 });
  });

  it('refuses to add queues to a FIFO topic unless allowed, and lets NORMAL topics grow', async () => {
    const topics = fixture.topics;
    await topics.create('Orders', { queueCount: 4, messageType: 'FIFO' });
    await topics.create('Events', { queueCount: 4 });
    await expect(topics.update('Orders', { queueCount: 8 })).rejects.toThrow(/is FIFO: more queues would move message groups/);
    expect((await topics.update('Orders', { perm: 4 })).perm).toBe(4); // other changes are fine
    expect((await topics.update('Orders', { queueCount: 8 }, { allowFifoGrowth: true })).queueCount).toBe(8);
    expect((await topics.update('Events', { queueCount: 8 })).queueCount).toBe(8);
  });
});

describe('consumer group count', () => {
  it('refuses a new group over the broker\'s limit with TOO_MANY_REQUESTS; existing groups keep working', async () => {
    const temp = makeTempDir('group-count');
    const fixture = await openStateFixture(temp.path, { groupCountMax: 3 });
    try {
      for (const name of ['g1', 'g2', 'g3']) await fixture.groups.ensure(name);
      await expect(fixture.groups.ensure('g4')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringContaining('already has 3 consumer groups, the limit') });
      await expect(fixture.groups.create('g4', {})).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      expect((await fixture.groups.update('g1', { maxAttempts: 5 })).maxAttempts).toBe(5);
      await fixture.groups.delete('g2');
      expect((await fixture.groups.ensure('g4')).name).toBe('g4');
    } finally {
      await fixture.close();
      temp.remove();
    }
  });
});
