import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { md5HexUpper, md5HexUpperAll, md5LanesAvailable } from './md5-lanes';
import { LANE_BYTES_MAX } from './md5-lanes-wasm';

const reference = (input: Uint8Array): string => createHash('md5').update(input).digest('hex').toUpperCase();

// RFC 1321, appendix A.5.
const RFC_1321: [string, string][] = [
  ['', 'd41d8cd98f00b204e9800998ecf8427e'],
  ['a', '0cc175b9c0f1b6a831c399e269772661'],
  ['abc', '900150983cd24fb0d6963f7d28e17f72'],
  ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
  ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
  ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
];

describe('md5HexUpperAll', () => {
  it('runs the SIMD lanes on this node (otherwise the tests below would only check node:crypto)', () => {
    expect(md5LanesAvailable()).toBe(true);
  });

  it.each(RFC_1321)('gives the RFC 1321 digest of %j in every lane of a group of 1 to 9', (text, digest) => {
    for (let count = 1; count <= 9; count++) {
      expect(md5HexUpperAll(Array.from({ length: count }, () => Buffer.from(text)))).toEqual(new Array(count).fill(digest.toUpperCase()));
    }
  });

  it('gives each input its own digest at the padding boundaries and around the lane size', () => {
    const lengths = [55, 56, 57, 63, 64, 65, 119, 120, 1024, LANE_BYTES_MAX - 9, LANE_BYTES_MAX - 8, LANE_BYTES_MAX, LANE_BYTES_MAX + 1];
    for (const length of lengths) {
      // Eight different inputs of one length: a digest in the wrong lane would show.
      const inputs = Array.from({ length: 8 }, (_, lane) => Buffer.alloc(length, lane + 1));
      expect(md5HexUpperAll(inputs)).toEqual(inputs.map(reference));
    }
  });

  it('hashes a view into a larger buffer as the bytes it shows', () => {
    const frame = Buffer.alloc(10_000, 7);
    const views = Array.from({ length: 6 }, (_, i) => { frame[i * 1500] = i; return frame.subarray(i * 1500 + 1, i * 1500 + 1025); });
    frame.fill(3, 1, 1025); // the first view's bytes change before hashing
    expect(md5HexUpperAll(views)).toEqual(views.map(reference));
  });

  it('agrees with node:crypto on any batch of any lengths', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 0, max: LANE_BYTES_MAX + 200 }).chain((length) => fc.uint8Array({ minLength: length, maxLength: length })),
    );
    // Runs of equal lengths, as a producer's batch has them, and mixed ones.
    const batch = fc.oneof(
      fc.array(input, { maxLength: 20 }),
      fc.tuple(fc.nat({ max: 2000 }), fc.integer({ min: 1, max: 20 })).chain(([length, count]) => fc.array(fc.uint8Array({ minLength: length, maxLength: length }), { minLength: count, maxLength: count })),
    );
    fc.assert(fc.property(batch, (inputs) => {
      expect(md5HexUpperAll(inputs)).toEqual(inputs.map(reference));
    }), { numRuns: 300 });
  });

  it('gives one input the same digest as md5HexUpper', () => {
    expect(md5HexUpperAll([Buffer.from('abc')])).toEqual([md5HexUpper(Buffer.from('abc'))]);
  });
});
