import { systemClock } from '@rmq/base';
import { MessageStore } from '@rmq/store';
import { makeTempDir } from '@rmq/testing';
import { JournalAccessStore } from './access-store';
import { StateJournal } from './state/state-journal';

/** An access store over a fresh journal of its own store; `close` closes both. */
async function openUsers(dataDir: string): Promise<JournalAccessStore & { close(): Promise<void> }> {
  const store = await MessageStore.open({ dataDir, flushMode: 'sync' });
  const journal = new StateJournal({ store, dataDir, clock: systemClock });
  const users = new JournalAccessStore(journal);
  journal.register(users);
  await journal.open();
  return Object.assign(users, { close: async () => (await journal.close(), await store.close()) });
}

describe('access store in the state journal', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('access-store')));
  afterEach(() => temp.remove());

  it('keeps users across a reopen (replayed from the commit log) and tells listeners of each change', async () => {
    const store = await openUsers(temp.path);
    const changes: string[] = [];
    store.onChange((name) => changes.push(name));
    await store.put({ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] });
    await store.put({ name: 'bob', secret: 'secret-2', admin: true, grants: [] });
    expect(await store.delete('bob')).toBe(true);
    expect(await store.delete('bob')).toBe(false);
    expect(changes).toEqual(['alice', 'bob', 'bob']);
    await store.close();
    const reopened = await openUsers(temp.path);
    expect(reopened.list()).toEqual([{ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] }]);
    await reopened.close();
  });

  it('refuses bad users with the reason and keeps nothing of them', async () => {
    const store = await openUsers(temp.path);
    try {
      await expect(store.put({ name: 'a b', secret: 'secret-1', admin: false, grants: [] })).rejects.toThrow(/user name/);
      await expect(store.put({ name: 'carol', secret: 'short', admin: false, grants: [] })).rejects.toThrow(/8 to 256/);
      await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'queue:x', actions: ['pub'] }] })).rejects.toThrow(/resource/);
      await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:x', actions: ['fly' as never] }] })).rejects.toThrow(/actions are/);
      expect(store.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
