import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { sipHashScratch } from '@rmq/base';
import { decodeReceiptHandle, encodeReceiptHandle, encodeReceiptHandleV2, keptReceiptHandle, macV1, receiptHandlePosition, sameReceiptHandle, verifyReceiptHandle, type ReceiptHandle } from './receipt-handle';

const secret = randomBytes(32);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

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
          expect(decodeReceiptHandle(encodeReceiptHandle(handle, secret), secret, handle.group, handle.topic)).toEqual(handle);
        },
      ),
      { numRuns: 200, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('read as kept (no tag: the caller compared the text with the handle it minted) give what decoding gives', () => {
    for (const extra of [{}, { push: true }, { member: 'client-1' }, { push: true, member: 'client-1' }]) {
      const handle: ReceiptHandle = { group: 'g', topic: 't', queueId: 3, queueOffset: 2 ** 40 + 5, deliveryId: 'run-1z', push: undefined, member: undefined, ...extra };
      const text = encodeReceiptHandle(handle, secret);
      expect(keptReceiptHandle(text, 'g', 't', handle.deliveryId, handle.member)).toEqual(decodeReceiptHandle(text, secret, 'g', 't'));
    }
    expect(keptReceiptHandle('garbage', 'g', 't', 'id', undefined)).toBeUndefined();
  });

  it('keeps delivery ids, groups, topics and members that are not ASCII', () => {
    const handle: ReceiptHandle = { group: 'grüppe', topic: 'トピック', queueId: 2, queueOffset: 7, deliveryId: 'id-é-😀', member: 'membre-ü' };
    expect(decodeReceiptHandle(encodeReceiptHandle(handle, secret), secret, 'grüppe', 'トピック')).toEqual(handle);
  });

  it('reads handles into a reused object, resetting what the previous one set', () => {
    const out: ReceiptHandle = { group: '', topic: '', queueId: 0, queueOffset: 0, deliveryId: '' };
    verifyReceiptHandle(encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'a', push: true, member: 'm' }, secret), secret, 'g', 'T', out);
    expect(out).toEqual({ group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'a', push: true, member: 'm' });
    verifyReceiptHandle(encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 3, queueOffset: 2 ** 52, deliveryId: 'b' }, secret), secret, 'g', 'T', out);
    expect(out).toEqual({ group: 'g', topic: 'T', queueId: 3, queueOffset: 2 ** 52, deliveryId: 'b' });
  });

  it('tells where an r3 handle points without checking it, as its decoding does, at any queue id and offset', () => {
    fc.assert(
      fc.property(
        fc.record({ queueId: fc.nat(2 ** 32 - 1), queueOffset: fc.maxSafeNat(), deliveryId: fc.string({ maxLength: 20 }), push: fc.option(fc.constant(true), { nil: undefined }), member: fc.option(fc.string(), { nil: undefined }) }),
        (fields) => {
          const handle: ReceiptHandle = { group: 'g', topic: 'T', ...fields };
          const text = encodeReceiptHandle(handle, secret);
          const out = { queueId: -1, queueOffset: -1 };
          expect(receiptHandlePosition(text, out)).toBe(true);
          const decoded = decodeReceiptHandle(text, secret, 'g', 'T');
          expect(out).toEqual({ queueId: decoded.queueId, queueOffset: decoded.queueOffset });
          expect(out).toEqual({ queueId: fields.queueId, queueOffset: fields.queueOffset });
        },
      ),
      { numRuns: 200, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  it('finds no position in what is not an r3 handle: r2 and r1 handles, short or foreign text', () => {
    const handle: ReceiptHandle = { group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'abc' };
    const out = { queueId: -1, queueOffset: -1 };
    const r3 = encodeReceiptHandle(handle, secret);
    const r1Payload = Buffer.from(JSON.stringify(['r1', 'g', 'T', 1, 2, 'abc'])).toString('base64url');
    for (const text of [
      encodeReceiptHandleV2(handle, secret), `${r1Payload}.${macV1(r1Payload, secret)}`, '', 'A', r3.slice(0, 30),
      `${r3.slice(0, 5)}.${r3.slice(6)}`, `${r3.slice(0, 5)}é${r3.slice(6)}`, `${r3.slice(0, 19)}=${r3.slice(20)}`, 'x'.repeat(47),
    ]) {
      expect(receiptHandlePosition(text, out)).toBe(false);
    }
    expect(out).toEqual({ queueId: -1, queueOffset: -1 });
  });

  it('compares a presented handle with a minted one character by character', () => {
    const minted = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'abc' }, secret);
    expect(sameReceiptHandle(minted, `${minted}`)).toBe(true);
    expect(sameReceiptHandle(minted, minted.slice(0, -1))).toBe(false);
    expect(sameReceiptHandle(minted, `${minted}A`)).toBe(false);
    for (const at of [0, 10, minted.length - 1]) {
      const altered = minted.slice(0, at) + (minted[at] === 'A' ? 'B' : 'A') + minted.slice(at + 1);
      expect(sameReceiptHandle(minted, altered)).toBe(false);
    }
    expect(sameReceiptHandle('', '')).toBe(true);
  });

  it('is short: no group or topic in the handle', () => {
    const handle = encodeReceiptHandle({ group: 'pb-g-1765080000000-abcdef', topic: 'pb-1765080000000-abcdef', queueId: 5, queueOffset: 123_456, deliveryId: '1a2b3c4d-1a2b' }, secret);
    expect(handle).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(handle.length).toBe(48);
  });

  it('refuses a handle given for another consumer group or topic, naming both', () => {
    const handle = encodeReceiptHandle({ group: 'owner', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd' }, secret);
    const reason = (group: string, topic: string) =>
      `receipt handle is not valid: its signature does not match: it was forged or altered, comes from another broker, or was issued for another consumer group or topic than ${group} / ${topic}`;
    expect(() => decodeReceiptHandle(handle, secret, 'intruder', 'T')).toThrow(reason('intruder', 'T'));
    expect(() => decodeReceiptHandle(handle, secret, 'owner', 'U')).toThrow(reason('owner', 'U'));
    // The group and topic are hashed with their lengths: moving bytes between them does not match.
    const split = encodeReceiptHandle({ group: 'ab', topic: 'c', queueId: 0, queueOffset: 0, deliveryId: 'd' }, secret);
    expect(() => decodeReceiptHandle(split, secret, 'a', 'bc')).toThrow(/signature does not match/);
    expect(decodeReceiptHandle(split, secret, 'ab', 'c').deliveryId).toBe('d');
  });

  it('refuses a handle given for a group or topic name too long to have been issued, saying so', () => {
    const handle = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd' }, secret);
    expect(() => decodeReceiptHandle(handle, secret, 'g', 'T'.repeat(70_000))).toThrow('receipt handle is not valid: no handle is issued for a consumer group or topic name over 65535 bytes');
  });

  it('refuses a handle with any bit of any byte changed, a truncated one and a lengthened one', () => {
    for (const member of [undefined, 'client-1']) {
      const encoded = Buffer.from(encodeReceiptHandle({ group: 'group', topic: 'topic', queueId: 7, queueOffset: 2 ** 40 + 5, deliveryId: 'run-1z', member, push: true }, secret), 'base64url');
      for (let at = 0; at < encoded.length; at++) {
        for (let bit = 0; bit < 8; bit++) {
          const altered = Buffer.from(encoded);
          altered[at] ^= 1 << bit;
          expect(() => decodeReceiptHandle(altered.toString('base64url'), secret, 'group', 'topic')).toThrow(/receipt handle is not valid: (its signature does not match|it is not a handle this broker issued)/);
        }
      }
      expect(() => decodeReceiptHandle(encoded.subarray(0, encoded.length - 1).toString('base64url'), secret, 'group', 'topic')).toThrow(/signature does not match/);
      expect(() => decodeReceiptHandle(Buffer.concat([encoded, Buffer.from([0])]).toString('base64url'), secret, 'group', 'topic')).toThrow(/signature does not match/);
    }
    expect(() => decodeReceiptHandle('', secret, 'g', 'T')).toThrow(/not a handle this broker issued/);
    expect(() => decodeReceiptHandle('not-a-handle', secret, 'g', 'T')).toThrow(/receipt handle is not valid/);
  });

  it('refuses the text of a handle with any character replaced', () => {
    // 36 bytes: 48 characters with no padding bits, so every character carries signed bits.
    const text = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: '1a2b3c4d-1a2b' }, secret);
    expect(text).toHaveLength(48);
    for (let at = 0; at < text.length; at++) {
      for (const replacement of [BASE64URL[(BASE64URL.indexOf(text[at]) + 1) % 64], BASE64URL[(BASE64URL.indexOf(text[at]) + 32) % 64]]) {
        const altered = text.slice(0, at) + replacement + text.slice(at + 1);
        expect(() => decodeReceiptHandle(altered, secret, 'g', 'T')).toThrow(/receipt handle is not valid/);
      }
    }
  });

  it('stays valid for the same secret read again (a restart or a failover loads the replicated key)', () => {
    const handle = { group: 'g', topic: 'T', queueId: 0, queueOffset: 9, deliveryId: 'd' };
    expect(decodeReceiptHandle(encodeReceiptHandle(handle, secret), Buffer.from(secret), 'g', 'T')).toEqual(handle);
  });

  it('refuses a handle signed with another secret', () => {
    const encoded = encodeReceiptHandle({ group: 'g', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd', push: true }, randomBytes(32));
    expect(() => decodeReceiptHandle(encoded, secret, 'g', 'T')).toThrow(/signature does not match/);
  });

  it('are the same bytes through the WebAssembly SipHash as through the JavaScript one, and each accepts the other\'s', () => {
    // A second copy of the module that finds no WebAssembly: its tags come from SipHash in JavaScript.
    let jsOnly: typeof import('./receipt-handle') | undefined;
    let jsOnlyBase: typeof import('@rmq/base') | undefined;
    const wasm = (globalThis as { WebAssembly?: unknown }).WebAssembly;
    try {
      (globalThis as { WebAssembly?: unknown }).WebAssembly = undefined;
      jest.isolateModules(() => {
        jsOnly = require('./receipt-handle');
        jsOnlyBase = require('@rmq/base');
      });
    } finally {
      (globalThis as { WebAssembly?: unknown }).WebAssembly = wasm;
    }
    expect(jsOnlyBase!.sipHashScratch().wasm).toBe(false);
    expect(sipHashScratch().wasm).toBe(true);
    fc.assert(
      fc.property(
        fc.record({ group: fc.string({ minLength: 1 }), topic: fc.string({ minLength: 1 }), queueId: fc.nat(), queueOffset: fc.nat({ max: Number.MAX_SAFE_INTEGER }), deliveryId: fc.string({ maxLength: 80 }) }),
        fc.boolean(),
        fc.option(fc.oneof(fc.string(), fc.string({ minLength: 30_000, maxLength: 30_001 })), { nil: undefined }),
        (base, push, member) => {
          const handle: ReceiptHandle = { ...base };
          if (push) handle.push = true;
          if (member !== undefined) handle.member = member;
          const minted = encodeReceiptHandle(handle, secret);
          expect(jsOnly!.encodeReceiptHandle(handle, secret)).toBe(minted);
          expect(jsOnly!.decodeReceiptHandle(minted, secret, handle.group, handle.topic)).toEqual(handle);
          expect(decodeReceiptHandle(minted, secret, handle.group, handle.topic)).toEqual(handle);
          const altered = minted.slice(0, -2) + (minted.at(-2) === 'A' ? 'B' : 'A') + minted.slice(-1);
          expect(() => decodeReceiptHandle(altered, secret, handle.group, handle.topic)).toThrow(/signature/);
          expect(() => jsOnly!.decodeReceiptHandle(altered, secret, handle.group, handle.topic)).toThrow(/signature/);
        },
      ),
      { numRuns: 200, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  });

  describe('handles minted before r3', () => {
    it('still reads r2 handles (group and topic inside, SipHash over the handle), with push flag and member', () => {
      const handle = { group: 'g', topic: 'T', queueId: 3, queueOffset: 2 ** 40, deliveryId: 'd', push: true, member: 'client-1' };
      expect(decodeReceiptHandle(encodeReceiptHandleV2(handle, secret), secret, 'g', 'T')).toEqual(handle);
    });

    it('verifies r2 handles minted by the r2 code itself (main at 1c16da8), for a secret of 32 bytes of 7', () => {
      const key = Buffer.alloc(32, 7);
      const minted = [
        'AgEAAAADAAABAAAAABEADHZlY3Rvci1ncm91cAALVmVjdG9yVG9waWMACzBhMWIyYzNkLTJzIiUN4R5L5yQ',
        'AgIAAAAAAAAAAAAAAAUADHZlY3Rvci1ncm91cAALVmVjdG9yVG9waWMACzBhMWIyYzNkLTJ0AAhjbGllbnQtN7nxLS5arEgP',
      ];
      expect(decodeReceiptHandle(minted[0], key, 'vector-group', 'VectorTopic')).toEqual({ group: 'vector-group', topic: 'VectorTopic', queueId: 3, queueOffset: 2 ** 40 + 17, deliveryId: '0a1b2c3d-2s', push: true });
      expect(decodeReceiptHandle(minted[1], key, 'vector-group', 'VectorTopic')).toEqual({ group: 'vector-group', topic: 'VectorTopic', queueId: 0, queueOffset: 5, deliveryId: '0a1b2c3d-2t', member: 'client-7' });
      expect(encodeReceiptHandleV2({ group: 'vector-group', topic: 'VectorTopic', queueId: 3, queueOffset: 2 ** 40 + 17, deliveryId: '0a1b2c3d-2s', push: true }, key)).toBe(minted[0]);
    });

    it('refuses an r2 handle of another group or topic, naming the one it belongs to, and an altered one', () => {
      const encoded = encodeReceiptHandleV2({ group: 'owner', topic: 'T', queueId: 0, queueOffset: 0, deliveryId: 'd' }, secret);
      expect(() => decodeReceiptHandle(encoded, secret, 'intruder', 'T')).toThrow('it belongs to consumer group owner, not intruder');
      expect(() => decodeReceiptHandle(encoded, secret, 'owner', 'U')).toThrow('it belongs to topic T, not U');
      const bytes = Buffer.from(encoded, 'base64url');
      for (let at = 1; at < bytes.length; at++) {
        const altered = Buffer.from(bytes);
        altered[at] ^= 0x01;
        expect(() => decodeReceiptHandle(altered.toString('base64url'), secret, 'owner', 'T')).toThrow(/signature does not match/);
      }
    });

    it('still reads the six-field r1 handles issued before push flags and members existed', () => {
      const handle = { group: 'g', topic: 'T', queueId: 1, queueOffset: 2, deliveryId: 'd' };
      const encoded = encodeV1(['r1', 'g', 'T', 1, 2, 'd']);
      expect(JSON.parse(Buffer.from(encoded.split('.')[0], 'base64url').toString())).toHaveLength(6);
      expect(decodeReceiptHandle(encoded, secret, 'g', 'T')).toEqual(handle);
    });

    it('still reads r1 handles (JSON + HMAC) minted before the binary format, with push flag and member', () => {
      expect(decodeReceiptHandle(encodeV1(['r1', 'g', 'T', 3, 4, 'd', 1, 'client-1']), secret, 'g', 'T')).toEqual({ group: 'g', topic: 'T', queueId: 3, queueOffset: 4, deliveryId: 'd', push: true, member: 'client-1' });
      expect(() => decodeReceiptHandle(encodeV1(['r1', 'g', 'T', 3, 4, 'd']), secret, 'h', 'T')).toThrow('it belongs to consumer group g, not h');
    });
  });
});

/** An r1 handle as brokers minted it before the binary format. */
function encodeV1(fields: unknown[]): string {
  const payload = Buffer.from(JSON.stringify(fields)).toString('base64url');
  return `${payload}.${macV1(payload, secret)}`;
}
