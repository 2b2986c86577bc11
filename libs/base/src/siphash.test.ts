import fc from 'fast-check';
import { createSipHashScratch, sipHash24, sipHash24Resume, sipHashKey, sipHashPrefix } from './siphash';

// Reference vectors of the SipHash authors (key 00..0f, message 00..(n-1)), 8 output bytes.
const VECTORS: Record<number, string> = {
  0: '310e0edd47db6f72',
  1: 'fd67dc93c539f874',
  2: '5a4fa9d909806c0d',
  3: '2d7efbd796666785',
  4: 'b7877127e09427cf',
  5: '8da699cd64557618',
  8: '6224939a79f5f593',
  15: 'e545be4961ca29a1',
};

describe('SipHash-2-4', () => {
  const key = sipHashKey(Uint8Array.from({ length: 16 }, (_, i) => i));

  it.each(Object.entries(VECTORS))('matches the reference vector for a %s-byte message', (length, expected) => {
    const message = Uint8Array.from({ length: Number(length) }, (_, i) => i);
    const out = Buffer.alloc(8);
    sipHash24(key, message, 0, message.length, out, 0);
    expect(out.toString('hex')).toBe(expected);
  });

  it('hashes a range of a larger buffer as if it stood alone', () => {
    const message = Uint8Array.from({ length: 15 }, (_, i) => i);
    const padded = Buffer.concat([Buffer.from([9, 9, 9]), message, Buffer.from([7])]);
    const out = Buffer.alloc(10);
    sipHash24(key, padded, 3, 18, out, 2);
    expect(out.subarray(2).toString('hex')).toBe(VECTORS[15]);
  });

  it('resumes from a prefix of whole blocks as if the message were hashed at once', () => {
    const message = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    for (let prefixBytes = 0; prefixBytes <= 32; prefixBytes += 8) {
      const prefix = sipHashPrefix(key, message, 0, prefixBytes);
      for (let end = prefixBytes; end <= message.length; end++) {
        const whole = Buffer.alloc(8);
        const resumed = Buffer.alloc(8);
        sipHash24(key, message, 0, end, whole, 0);
        sipHash24Resume(prefix, message, prefixBytes, end, resumed, 0);
        expect(resumed.toString('hex')).toBe(whole.toString('hex'));
      }
    }
    const vector = Uint8Array.from({ length: 15 }, (_, i) => i);
    const out = Buffer.alloc(8);
    sipHash24Resume(sipHashPrefix(key, vector, 0, 8), vector, 8, 15, out, 0);
    expect(out.toString('hex')).toBe(VECTORS[15]);
  });

  it('refuses a prefix that is not whole blocks', () => {
    expect(() => sipHashPrefix(key, new Uint8Array(9), 0, 9)).toThrow(/whole 8-byte blocks/);
  });

  it('refuses a key that is not 16 bytes', () => {
    expect(() => sipHashKey(new Uint8Array(32))).toThrow(/16 bytes/);
  });

  describe('scratch (WebAssembly, and JavaScript where there is none)', () => {
    const wasm = createSipHashScratch(true);
    const js = createSipHashScratch(false);

    it('runs in WebAssembly on this runtime, and in JavaScript when asked', () => {
      expect(wasm.wasm).toBe(true);
      expect(js.wasm).toBe(false);
    });

    it('tags prefix + message as SipHash-2-4 of the whole, for any prefix, message and bytes after it', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(4), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (keyBytes, prefixBlocks, tail, after) => {
          const k = sipHashKey(keyBytes);
          const head = Uint8Array.from({ length: 8 * prefixBlocks }, (_, i) => (i * 131 + tail.length) & 0xff);
          const whole = Buffer.concat([head, tail]);
          const expected = Buffer.alloc(8);
          sipHash24(k, whole, 0, whole.length, expected, 0);
          const prefix = sipHashPrefix(k, head, 0, head.length);
          for (const scratch of [wasm, js]) {
            scratch.bytes.set(tail, 0);
            scratch.bytes.set(after, tail.length); // what lies past the message (read by the last load, masked) changes nothing
            scratch.resume(prefix, tail.length);
            expect(scratch.bytes.subarray(tail.length, tail.length + 8).toString('hex')).toBe(expected.toString('hex'));
          }
        }),
        { numRuns: 500, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
      );
    });

    it('matches the reference vectors, and takes messages up to lengthMax only', () => {
      for (const [length, vector] of Object.entries(VECTORS)) {
        wasm.bytes.set(Uint8Array.from({ length: Number(length) }, (_, i) => i), 0);
        wasm.resume(sipHashPrefix(key, new Uint8Array(0), 0, 0), Number(length));
        expect(wasm.bytes.subarray(Number(length), Number(length) + 8).toString('hex')).toBe(vector);
      }
      const longest = Buffer.alloc(wasm.lengthMax, 0x5a);
      const expected = Buffer.alloc(8);
      sipHash24(key, longest, 0, longest.length, expected, 0);
      wasm.bytes.set(longest, 0);
      wasm.resume(sipHashPrefix(key, new Uint8Array(0), 0, 0), longest.length);
      expect(wasm.bytes.subarray(longest.length, longest.length + 8).equals(expected)).toBe(true);
      expect(() => wasm.resume(sipHashPrefix(key, new Uint8Array(0), 0, 0), wasm.lengthMax + 1)).toThrow(/at most/);
      expect(() => js.resume(sipHashPrefix(key, new Uint8Array(0), 0, 0), -1)).toThrow(/at most/);
    });
  });
});
