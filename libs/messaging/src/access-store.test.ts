import { makeTempDir } from '@rmq/testing';
import { JournalAccessStore } from './access-store';
import { openStateFixture } from '../test/state-fixture';

describe('access store in the state journal', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('access-store')));
  afterEach(() => temp.remove());

  async function open() {
    let users!: JournalAccessStore;
    const fixture = await openStateFixture(temp.path, { sections: (journal) => [(users = new JournalAccessStore(journal))] });
    return { users, close: () => fixture.close() };
  }

  it('keeps users across a reopen (replayed from the commit log) and tells listeners of each change', async () => {
    const { users: store, close } = await open();
    const changes: string[] = [];
    store.onChange((name) => changes.push(name));
    await store.put({ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] });
    await store.put({ name: 'bob', secret: 'secret-2', admin: true, grants: [] });
    expect(await store.delete('bob')).toBe(true);
    expect(await store.delete('bob')).toBe(false);
    expect(changes).toEqual(['alice', 'bob', 'bob']);
    await close();
    const reopened = await open();
    expect(reopened.users.list()).toEqual([{ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] }]);
    await reopened.close();
  });

  it('refuses bad users with the reason and keeps nothing of them', async () => {
    const { users: store, close } = await open();
    await expect(store.put({ name: 'a b', secret: 'secret-1', admin: false, grants: [] })).rejects.toThrow(/user name/);
    await expect(store.put({ name: 'carol', secret: 'short', admin: false, grants: [] })).rejects.toThrow(/8 to 256/);
    await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'queue:x', actions: ['pub'] }] })).rejects.toThrow(/resource/);
    await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:x', actions: ['fly' as never] }] })).rejects.toThrow(/actions are/);
    expect(store.list()).toEqual([]);
    await close();
  });
});
