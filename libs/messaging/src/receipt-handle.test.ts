import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decodeReceiptHandle, encodeReceiptHandle, type ReceiptHandle } from './receipt-handle';

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
    const encoded = encodeReceiptHandle(handle, secret);
    expect(JSON.parse(Buffer.from(encoded.split('.')[0], 'base64url').toString())).toHaveLength(6);
    expect(decodeReceiptHandle(encoded, secret)).toEqual(handle);
  });

  it('refuses a handle signed with another secret', () => {
    const encoded = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd', push: true }, randomBytes(32));
    expect(() => decodeReceiptHandle(encoded, secret)).toThrow(/signature does not match/);
  });
});
