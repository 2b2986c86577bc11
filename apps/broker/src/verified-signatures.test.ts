import { authorizationHeader, requestDateTime, type Credentials } from '@rmq/base';
import { VerifiedSignatures } from './verified-signatures';

const NOW_MS = Date.UTC(2026, 11, 7, 14, 0, 0);
const SKEW_MS = 15 * 60_000;
const ALICE: Credentials = { accessKey: 'alice', secret: 'alice-secret' };

const signed = (credentials: Credentials, atMs = NOW_MS) => {
  const dateTime = requestDateTime(atMs);
  return { dateTime, authorization: authorizationHeader(credentials, dateTime) };
};

describe('verified signatures', () => {
  it('keeps one entry per verified signature, answered only while the user has the same secret', () => {
    const secrets = new Map([['alice', ALICE.secret]]);
    const secretOf = (key: string) => secrets.get(key);
    const signatures = new VerifiedSignatures();
    expect(signatures.verify(signed(ALICE), secretOf, NOW_MS, SKEW_MS)).toEqual({ accessKey: 'alice' });
    expect(signatures.size).toBe(1);
    expect(signatures.verify(signed(ALICE), secretOf, NOW_MS + 500, SKEW_MS)).toEqual({ accessKey: 'alice' });
    expect(signatures.size).toBe(1);
    // The secret changed: the cached verdict no longer holds.
    secrets.set('alice', 'a-new-secret');
    expect(signatures.verify(signed(ALICE), secretOf, NOW_MS, SKEW_MS)).toEqual({ problem: 'bad-signature', accessKey: 'alice' });
    // The user is gone.
    secrets.delete('alice');
    expect(signatures.verify(signed({ ...ALICE, secret: 'a-new-secret' }), secretOf, NOW_MS, SKEW_MS)).toEqual({ problem: 'unknown-key', accessKey: 'alice' });
  });

  it('refuses a wrong signature every time, and a cached one once the clock has moved past the skew', () => {
    const secretOf = (key: string) => (key === 'alice' ? ALICE.secret : undefined);
    const signatures = new VerifiedSignatures();
    const forged = signed({ ...ALICE, secret: 'guessed' });
    for (let i = 0; i < 2; i++) expect(signatures.verify(forged, secretOf, NOW_MS, SKEW_MS)).toEqual({ problem: 'bad-signature', accessKey: 'alice' });
    expect(signatures.size).toBe(0);
    const good = signed(ALICE);
    expect(signatures.verify(good, secretOf, NOW_MS, SKEW_MS)).toEqual({ accessKey: 'alice' });
    expect(signatures.verify(good, secretOf, NOW_MS + SKEW_MS + 2_000, SKEW_MS)).toEqual({ problem: 'clock-skew', accessKey: 'alice' });
    // A header changed by one character is not the cached one.
    expect(signatures.verify({ ...good, authorization: good.authorization.slice(0, -1) + '0' }, secretOf, NOW_MS, SKEW_MS)).toMatchObject({ problem: expect.any(String) });
  });

  it('keeps at most its bound of entries', () => {
    const secretOf = () => ALICE.secret;
    const signatures = new VerifiedSignatures(3);
    for (let second = 0; second < 10; second++) signatures.verify(signed(ALICE, NOW_MS + second * 1_000), secretOf, NOW_MS + second * 1_000, SKEW_MS);
    expect(signatures.size).toBeLessThanOrEqual(3);
  });
});
