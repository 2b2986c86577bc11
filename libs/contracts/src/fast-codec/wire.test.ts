import fc from 'fast-check';
import { WireReader } from './wire';

/** A length-delimited field's value (length varint, then the bytes), read back with WireReader.string. */
function readString(bytes: Uint8Array): string {
  const framed = Buffer.concat([Buffer.from([bytes.length]), Buffer.from(bytes)]);
  return new WireReader(framed).string();
}

describe('WireReader.string', () => {
  it('decodes a short string seen before to the same string, equal to a strict decode, every time', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('TopicA', 'host-1', 'NORMAL', 'é', '\ufeffX')), { minLength: 1, maxLength: 40 }), (texts) => {
        for (const text of [...texts, ...texts]) {
          const bytes = Buffer.from(text);
          if (bytes.length > 127) continue;
          expect(readString(bytes)).toBe(new TextDecoder().decode(bytes));
        }
      }),
    );
  });

  it('still refuses bytes that are not UTF-8 after an ASCII string of the same length was read', () => {
    expect(readString(Buffer.from('ab'))).toBe('ab');
    expect(() => readString(Buffer.from([0x61, 0xff]))).toThrow();
    expect(() => readString(Buffer.from([0xe2, 0x82]))).toThrow();
    expect(readString(Buffer.from('ab'))).toBe('ab');
  });
});
