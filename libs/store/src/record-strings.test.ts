import { readUtf8, utf8ByteLength, writeUtf8 } from './record-strings';

const samples = ['', 's.id', 'NORMAL', 'a-topic-with-24-bytes-xx', 'a value longer than the interned strings are', 'héllo', '日本語のキー', 'emoji 🎉', 'lone \ud800 surrogate', 'tab\tand\u007f'];

describe('record strings', () => {
  it('writes and counts UTF-8 exactly as Buffer does, ASCII or not', () => {
    for (const text of samples) {
      const expected = Buffer.from(text, 'utf8');
      expect(utf8ByteLength(text)).toBe(expected.length);
      const buf = Buffer.alloc(expected.length + 4, 0xee);
      expect(writeUtf8(buf, 2, text)).toBe(expected.length);
      expect(buf.subarray(2, 2 + expected.length)).toEqual(expected);
      expect([buf[0], buf[1], buf[buf.length - 2], buf[buf.length - 1]]).toEqual([0xee, 0xee, 0xee, 0xee]); // nothing outside its room
    }
  });

  it('reads back every string, the same string object for short ASCII ones seen before, and never a wrong one', () => {
    for (const text of samples) {
      const bytes = Buffer.concat([Buffer.from('xx'), Buffer.from(text, 'utf8'), Buffer.from('yy')]);
      expect(readUtf8(bytes, 2, bytes.length - 2)).toBe(text.replace('\ud800', '\ufffd')); // a lone surrogate was written as U+FFFD
    }
    const first = readUtf8(Buffer.from('s.bornHost'), 0, 10);
    expect(readUtf8(Buffer.from('xs.bornHost'), 1, 11)).toBe(first);
    // Many distinct short strings (slots collide): each still reads back as itself.
    const many = Array.from({ length: 5000 }, (_, i) => `k${i}`);
    for (let round = 0; round < 2; round++) for (const text of many) expect(readUtf8(Buffer.from(text), 0, text.length)).toBe(text);
    // Bytes that are not UTF-8 decode to U+FFFD each time, and never stand in for other bytes.
    expect(readUtf8(Buffer.from([0xff, 0xfe]), 0, 2)).toBe('\ufffd\ufffd');
    expect(readUtf8(Buffer.from([0xff, 0xfe]), 0, 2)).toBe('\ufffd\ufffd');
    expect(readUtf8(Buffer.from('ab'), 0, 2)).toBe('ab');
  });
});
