import fc from 'fast-check';
import { ByteReader, ByteWriter } from './byte-codec';

function written(write: (w: ByteWriter) => void, initialBytes?: number): { bytes: Buffer; invalid: boolean } {
  const w = new ByteWriter(initialBytes);
  w.mark();
  write(w);
  return { bytes: Buffer.from(w.bytes), invalid: w.invalid };
}

describe('ByteWriter and ByteReader', () => {
  it('round-trip every safe integer >= 0, in as few bytes as LEB128 needs', () => {
    const edges = [0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 49, Number.MAX_SAFE_INTEGER];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...edges), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat())), (values) => {
        const { bytes, invalid } = written((w) => values.forEach((value) => w.varint(value)), 4); // a tiny buffer: it must grow
        expect(invalid).toBe(false);
        const r = new ByteReader(bytes);
        expect(values.map(() => r.varint())).toEqual(values);
        expect(r.done).toBe(true);
      }),
    );
    for (const [value, length] of [[0, 1], [127, 1], [128, 2], [2 ** 32, 5], [Number.MAX_SAFE_INTEGER, 8]] as const) {
      expect(written((w) => w.varint(value)).bytes.length).toBe(length);
    }
  });

  it('marks a number it cannot carry exactly as invalid instead of writing it', () => {
    for (const value of [-1, 0.5, Number.NaN, Infinity, 2 ** 53, -0.1]) {
      const { bytes, invalid } = written((w) => w.varint(value));
      expect({ value, invalid, length: bytes.length }).toEqual({ value, invalid: true, length: 0 });
    }
  });

  it('round-trips strings: empty, ASCII, accents, CJK, emoji, and long ones', () => {
    const samples = ['', 'a', 'pb-g-mxdc7wq3-9ed055', 'café', '消费者组', '🚀 rocket', 'x'.repeat(70_000), 'é'.repeat(50_000)];
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...samples), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 200 }))), (texts) => {
        const { bytes, invalid } = written((w) => texts.forEach((text) => w.string(text)), 8);
        expect(invalid).toBe(false);
        const r = new ByteReader(bytes);
        expect(texts.map(() => r.string())).toEqual(texts);
        expect(r.done).toBe(true);
      }),
    );
    // The length is in bytes of UTF-8, not UTF-16 units.
    expect([...written((w) => w.string('é')).bytes]).toEqual([2, 0xc3, 0xa9]);
  });

  it('marks a string with a lone surrogate as invalid (UTF-8 cannot carry it)', () => {
    for (const text of ['\ud800', 'a\udc00b', 'x\ud83d']) expect(written((w) => w.string(text)).invalid).toBe(true);
    expect(written((w) => w.string('\ud83d\ude80')).invalid).toBe(false);
  });

  it('rolls an entry back to its mark, references it defined included', () => {
    const w = new ByteWriter();
    const kept = {};
    const dropped = {};
    w.mark();
    w.u8(1);
    expect(w.ref(kept)).toBeUndefined();
    w.mark();
    w.u8(2);
    expect(w.ref(dropped)).toBeUndefined();
    expect(w.ref(kept)).toBe(0);
    w.varint(-5);
    expect(w.invalid).toBe(true);
    w.rollback();
    expect(w.invalid).toBe(false);
    expect([...w.bytes]).toEqual([1]);
    expect([...w.refs]).toEqual([[kept, 0]]);
    expect(w.ref(dropped)).toBeUndefined(); // defined anew, with the next index
    expect(w.refs.get(dropped)).toBe(1);
  });

  it('answers a reference asked for again from its memo, and forgets the memo with a rollback that dropped it', () => {
    const w = new ByteWriter();
    const a = {};
    const b = {};
    w.mark();
    expect(w.ref(a)).toBeUndefined();
    expect([w.ref(a), w.ref(a), w.ref(a)]).toEqual([0, 0, 0]);
    w.mark();
    expect(w.ref(b)).toBeUndefined();
    expect([w.ref(b), w.ref(b)]).toEqual([1, 1]); // b is the memo now
    w.rollback(); // b was defined by the entry rolled back
    expect(w.ref(b)).toBeUndefined();
    expect([w.ref(a), w.ref(b), w.ref(a)]).toEqual([0, 1, 0]);
  });

  it('refuses bytes that are cut short or out of range, saying where', () => {
    expect(() => new ByteReader(Buffer.from([])).u8()).toThrow(/ends inside a value/);
    expect(() => new ByteReader(Buffer.from([0x80, 0x80])).varint()).toThrow(/ends inside a value/);
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).varint()).toThrow(/larger than 2\^53 - 1/);
    expect(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).varint()).toThrow(/larger than 2\^53 - 1/);
    expect(() => new ByteReader(Buffer.from([5, 0x61, 0x62])).string()).toThrow(/runs past the end/);
  });
});
