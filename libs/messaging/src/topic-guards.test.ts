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
