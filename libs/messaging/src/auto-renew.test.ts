import { AutoRenewals, type Renewal } from './auto-renew';

const renewal = (overrides: Partial<Renewal> = {}): Renewal => ({
  group: 'g', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd', clientId: 'c', invisibleMs: 10_000, renewUntilMs: 100_000, ...overrides,
});

describe('AutoRenewals', () => {
  it('moves the deadline of a live client\'s delivery once half of its invisible time is left', () => {
    const renewals = new AutoRenewals(30_000, 100, 100);
    renewals.clientSeen('c', 0);
    renewals.track(renewal());
    expect(renewals.due(4_000, () => 10_000)).toEqual([]);
    expect(renewals.due(5_001, () => 10_000)).toEqual([{ renewal: renewal(), visibleAtMs: 15_001 }]);
  });

  it('stops when the delivery is no longer current, when the client went away or said goodbye, and at the renewal limit', () => {
    const renewals = new AutoRenewals(30_000, 100, 100);
    renewals.clientSeen('c', 0);
    renewals.clientSeen('gone', 0);
    renewals.clientSeen('bye', 0);
    renewals.track(renewal({ queueOffset: 1 }));
    renewals.track(renewal({ queueOffset: 2, clientId: 'gone' }));
    renewals.track(renewal({ queueOffset: 3, clientId: 'bye' }));
    renewals.track(renewal({ queueOffset: 4, renewUntilMs: 20_000 }));
    renewals.clientGone('bye');
    renewals.clientSeen('c', 25_000);
    const due = renewals.due(31_000, (r) => (r.queueOffset === 1 ? undefined : 31_500));
    expect(due).toEqual([]);
    expect(renewals.count).toBe(0);
  });

  it('never renews past the renewal limit', () => {
    const renewals = new AutoRenewals(30_000, 100, 100);
    renewals.clientSeen('c', 0);
    renewals.track(renewal({ renewUntilMs: 12_000 }));
    expect(renewals.due(9_000, () => 10_000)).toEqual([{ renewal: renewal({ renewUntilMs: 12_000 }), visibleAtMs: 12_000 }]);
  });

  it('tracks at most the maximum number of deliveries', () => {
    const renewals = new AutoRenewals(30_000, 2, 100);
    for (const queueOffset of [0, 1, 2]) renewals.track(renewal({ queueOffset }));
    expect(renewals.count).toBe(2);
  });

  it('remembers at most the maximum number of live clients, forgetting silent ones first', () => {
    const renewals = new AutoRenewals(30_000, 100, 2);
    renewals.clientSeen('a', 0);
    renewals.clientSeen('b', 20_000);
    renewals.clientSeen('c', 25_000); // full of live clients: not remembered
    expect(renewals.clientCount).toBe(2);
    renewals.track(renewal({ clientId: 'c' }));
    expect(renewals.due(26_000, () => 27_000)).toEqual([]); // c's delivery is not renewed
    renewals.clientSeen('c', 31_000); // a fell silent: its place goes to c
    expect(renewals.clientCount).toBe(2);
    renewals.track(renewal({ clientId: 'c' }));
    expect(renewals.due(32_000, () => 33_000)).toHaveLength(1);
  });
});
