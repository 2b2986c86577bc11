import { createHmac } from 'node:crypto';
import { authorizationHeader, parseAuthorization, parseRequestDateTime, requestDateTime, signedHeaders, verifySignedHeaders } from './request-signature';

describe('RocketMQ 5 request signature', () => {
  const nowMs = Date.UTC(2026, 2, 7, 19, 54, 45, 123);
  const credentials = { accessKey: 'alice', secret: 's3cret' };
  const secretOf = (key: string) => (key === 'alice' ? 's3cret' : undefined);

  it('formats and reads the date-time as the official client does (yyyyMMddTHHmmssZ, UTC)', () => {
    expect(requestDateTime(nowMs)).toBe('20260307T195445Z');
    expect(parseRequestDateTime('20260307T195445Z')).toBe(Date.UTC(2026, 2, 7, 19, 54, 45));
    expect(parseRequestDateTime('20261307T195445Z')).toBeUndefined();
    expect(parseRequestDateTime('2026-03-07')).toBeUndefined();
  });

  it('signs as the official client: upper-case hex HMAC-SHA1 of the date-time with the secret', () => {
    const expected = createHmac('sha1', 's3cret').update('20260307T195445Z').digest('hex').toUpperCase();
    expect(authorizationHeader(credentials, '20260307T195445Z')).toBe(`MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature=${expected}`);
    expect(parseAuthorization(authorizationHeader(credentials, '20260307T195445Z'))).toEqual({ accessKey: 'alice', signature: expected });
    expect(parseAuthorization('Basic abc')).toBeUndefined();
    expect(parseAuthorization('MQv2-HMAC-SHA1 Credential=a, SignedHeaders=host, Signature=AB')).toBeUndefined();
  });

  it('accepts a right signature and names each problem of a wrong one', () => {
    const sign = (c: typeof credentials, atMs: number) => {
      const h = signedHeaders(c, atMs);
      return { authorization: h.authorization, dateTime: h['x-mq-date-time'] };
    };
    expect(verifySignedHeaders(sign(credentials, nowMs), secretOf, nowMs, 60_000)).toEqual({ accessKey: 'alice' });
    expect(verifySignedHeaders(sign(credentials, nowMs - 30_000), secretOf, nowMs, 60_000)).toEqual({ accessKey: 'alice' });
    expect(verifySignedHeaders({ authorization: '', dateTime: '' }, secretOf, nowMs, 60_000)).toEqual({ problem: 'missing' });
    expect(verifySignedHeaders(sign(credentials, nowMs - 120_000), secretOf, nowMs, 60_000)).toMatchObject({ problem: 'clock-skew' });
    expect(verifySignedHeaders(sign(credentials, nowMs + 120_000), secretOf, nowMs, 60_000)).toMatchObject({ problem: 'clock-skew' });
    expect(verifySignedHeaders(sign({ accessKey: 'bob', secret: 'x' }, nowMs), secretOf, nowMs, 60_000)).toMatchObject({ problem: 'unknown-key', accessKey: 'bob' });
    expect(verifySignedHeaders(sign({ accessKey: 'alice', secret: 'wrong' }, nowMs), secretOf, nowMs, 60_000)).toMatchObject({ problem: 'bad-signature' });
    const good = sign(credentials, nowMs);
    expect(verifySignedHeaders({ ...good, dateTime: requestDateTime(nowMs - 5_000) }, secretOf, nowMs, 60_000)).toMatchObject({ problem: 'bad-signature' });
  });
});
