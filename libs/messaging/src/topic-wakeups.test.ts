import { TopicWakeups } from './topic-wakeups';

describe('TopicWakeups', () => {
  it('ends a wait at the next wake of its topic only, and counts the wakes', async () => {
    const wakeups = new TopicWakeups();
    let ended = false;
    const waiting = wakeups.wait('T', 60_000).then(() => (ended = true));
    wakeups.wake('U');
    await Promise.resolve();
    expect(ended).toBe(false);
    const before = wakeups.count('T');
    wakeups.wake('T');
    await waiting;
    expect(wakeups.count('T')).toBe(before + 1);
  });

  it('ends a wait on its timeout, on abort and at wakeAll', async () => {
    const wakeups = new TopicWakeups();
    await wakeups.wait('T', 1);
    const abort = new AbortController();
    const aborted = wakeups.wait('T', 60_000, abort.signal);
    abort.abort();
    await aborted;
    const all = [wakeups.wait('T', 60_000), wakeups.wait('U', 60_000)];
    wakeups.wakeAll();
    await Promise.all(all);
  });
});
