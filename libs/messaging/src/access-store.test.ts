import { statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@rmq/testing';
import { FileAccessStore } from './access-store';

describe('file-backed access store', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('access-store')));
  afterEach(() => temp.remove());

  it('keeps users across a reopen in a 0600 file and tells listeners of each change', async () => {
    const store = await FileAccessStore.open(temp.path);
    const changes: string[] = [];
    store.onChange((name) => changes.push(name));
    await store.put({ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] });
    await store.put({ name: 'bob', secret: 'secret-2', admin: true, grants: [] });
    expect(await store.delete('bob')).toBe(true);
    expect(await store.delete('bob')).toBe(false);
    expect(changes).toEqual(['alice', 'bob', 'bob']);
    expect(statSync(join(temp.path, 'config', 'access.json')).mode & 0o777).toBe(0o600);
    const reopened = await FileAccessStore.open(temp.path);
    expect(reopened.list()).toEqual([{ name: 'alice', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:Orders', actions: ['pub'] }] }]);
  });

  it('refuses bad users with the reason and keeps nothing of them', async () => {
    const store = await FileAccessStore.open(temp.path);
    await expect(store.put({ name: 'a b', secret: 'secret-1', admin: false, grants: [] })).rejects.toThrow(/user name/);
    await expect(store.put({ name: 'carol', secret: 'short', admin: false, grants: [] })).rejects.toThrow(/8 to 256/);
    await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'queue:x', actions: ['pub'] }] })).rejects.toThrow(/resource/);
    await expect(store.put({ name: 'carol', secret: 'secret-1', admin: false, grants: [{ resource: 'topic:x', actions: ['fly' as never] }] })).rejects.toThrow(/actions are/);
    expect(store.list()).toEqual([]);
  });
});
