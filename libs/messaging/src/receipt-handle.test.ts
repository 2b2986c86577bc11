import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decodeReceiptHandle, encodeReceiptHandle, macV1, type ReceiptHandle } from './receipt-handle';

const secret = randomBytes(32);

describe('receipt handles', () => {
  it('decode what they encode, with and without the push flag and the broadcast member', () => {
    fc.assert(
      fc.property(
        fc.record({ group: fc.string({ minLength: 1 }), topic: fc.string({ minLength: 1 }), queueId: fc.nat(1024), queueOffset: fc.nat(), deliveryId: fc.string({ minLength: 1 }) }),
        fc.boolean(),
        fc.option(fc.string(), { nil: undefined }),
        (base, push, member) => {
          const handle: ReceiptHandle = { ...base };
          if (push) handle.push = true;
          if (member !== undefined) handle.member = member;
          expect(decodeReceiptHandle(encodeReceiptHandle(handle, secret), secret)).toEqual(handle);
        },
      ),
      { numRuns: 200, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('still reads the six-field handles issued before push flags and members existed', () => {
    const handle = { group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'd' };
    const encoded = encodeV1(['r1', 'g', 'T', 1, 2, 'd']);
    expect(JSON.parse(Buffer.from(encoded.split('.')[0], 'base64url').toString())).toHaveLength(6);
    expect(decodeReceiptHandle(encoded, secret)).toEqual(handle);
  });

  it('still reads r1 handles (JSON + HMAC) minted before the binary format, with push flag and member', () => {
    expect(decodeReceiptHandle(encodeV1(['r1', 'g', 'T', 3, 4, 'd', 1, 'client-1']), secret)).toEqual({ group: 'g', topic: 'T', queueId: 3, queueOffset: 4, deliveryId: 'd', push: true, member: 'client-1' });
  });

  it('refuses a handle with any byte changed, and a truncated one', () => {
    const encoded = Buffer.from(encodeReceiptHandle({ group: 'group', topic: 'topic', queueId: 7, queueOffset: 2 ** 40 + 5, deliveryId: 'run-1z', member: 'm' }, secret), 'base64url');
    for (let at = 0; at < encoded.length; at++) {
      const altered = Buffer.from(encoded);
      altered[at] ^= 0x01;
      expect(() => decodeReceiptHandle(altered.toString('base64url'), secret)).toThrow(/signature does not match|not a handle this broker issued/);
    }
    expect(() => decodeReceiptHandle(encoded.subarray(0, encoded.length - 1).toString('base64url'), secret)).toThrow(/signature does not match/);
    expect(() => decodeReceiptHandle('', secret)).toThrow(/not a handle this broker issued/);
  });

  it('stays valid for the same secret read again (a restart loads the persisted key)', () => {
    const handle = { group: 'g', topic: 'T', queueId: 0, queueOffset: 9, deliveryId: 'd' };
    expect(decodeReceiptHandle(encodeReceiptHandle(handle, secret), Buffer.from(secret))).toEqual(handle);
  });

  it('refuses a handle signed with another secret', () => {
    const encoded = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd', push: true }, randomBytes(32));
    expect(() => decodeReceiptHandle(encoded, secret)).toThrow(/signature does not match/);
  });
});

/** An r1 handle as brokers minted it before the binary format. */
function encodeV1(fields: unknown[]): string {
  const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
  return `${payload}.${macV1(payload, secret)}`;
}
