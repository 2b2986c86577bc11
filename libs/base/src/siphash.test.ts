import { sipHash24, sipHash24Resume, sipHashKey, sipHashPrefix } from './siphash';

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
});
