// Properties of the record format: what is encoded decodes to the same record, the size is known
// before encoding, and damage (a changed byte, a missing tail) is never mistaken for a record.
// fast-check prints the seed and the shrunk counterexample when a property fails.
import fc from 'fast-check';
import {
  BLANK_RECORD_BYTES_MIN,
  RECORD_HEADER_BYTES,
  checkRecord,
  encodeBlank,
  encodeRecord,
  encodeRecordInto,
  encodedSizeBytes,
  propertyMap,
  propertyOf,
  readU64,
  tagHashOf,
  u32At,
  u64At,
  type RecordInput,
} from './record';
import { decodeRecord, StoredRecord } from './record-view';

const NUM_RUNS = 300;
const U32_MAX = 0xffff_ffff;

// Well-formed unicode only: topics and properties arrive as protobuf strings, which are valid
// UTF-8, so lone surrogates (which UTF-8 cannot carry) are not inputs the store can get.
const text = (maxLength: number) =>
  fc.oneof(fc.string({ unit: 'grapheme', maxLength }), fc.string({ unit: 'binary', maxLength }), fc.string({ maxLength }));

const recordInput: fc.Arbitrary<RecordInput> = fc.record({
  topic: text(40),
  queueId: fc.integer({ min: 0, max: U32_MAX }),
  tagHash: fc.integer({ min: 0, max: U32_MAX }),
  flags: fc.integer({ min: 0, max: U32_MAX }),
  bornTimestampMs: fc.maxSafeNat(),
  properties: fc
    .uniqueArray(fc.tuple(text(16), text(64)), { selector: ([key]) => key, maxLength: 8 })
    .map((entries) => new Map(entries)),
  body: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1000, maxLength: 5000 })),
});

const placement = fc.record({
  logOffset: fc.maxSafeNat(),
  queueOffset: fc.maxSafeNat(),
  storeTimestampMs: fc.maxSafeNat(),
});

describe('record encoding', () => {
  it('decodes every encoded record to the same fields, properties and body', () => {
    fc.assert(
      fc.property(recordInput, placement, (input, where) => {
        const bytes = encodeRecord(input, where);
        const record = decodeRecord(bytes);
        expect(record).toMatchObject({
          topic: input.topic,
          queueId: input.queueId,
          tagHash: input.tagHash,
          flags: input.flags,
          bornTimestampMs: input.bornTimestampMs,
          logOffset: where.logOffset,
          queueOffset: where.queueOffset,
          storeTimestampMs: where.storeTimestampMs,
          sizeBytes: bytes.length,
        });
        expect(record.properties).toEqual(input.properties);
        expect(Buffer.compare(record.body, Buffer.from(input.body))).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('encodes properties given as a flat key/value list to the same bytes as the same properties in a Map', () => {
    fc.assert(
      fc.property(recordInput, placement, (input, where) => {
        const list = [...input.properties as Map<string, string>].flat();
        const listed = { ...input, properties: list };
        expect(encodedSizeBytes(listed)).toBe(encodedSizeBytes(input));
        expect(encodeRecord(listed, where).equals(encodeRecord(input, where))).toBe(true);
        expect(propertyMap(list)).toEqual(input.properties);
        for (const [key, value] of input.properties as Map<string, string>) expect(propertyOf(list, key)).toBe(value);
        expect(propertyOf(list, '\u0000absent')).toBeUndefined();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('knows the encoded size before encoding, and checkRecord accepts the record at its log offset', () => {
    fc.assert(
      fc.property(recordInput, placement, fc.uint8Array({ maxLength: 32 }), (input, where, before) => {
        const sizeBytes = encodedSizeBytes(input);
        const bytes = encodeRecord(input, where);
        expect(bytes.length).toBe(sizeBytes);
        expect(sizeBytes).toBeGreaterThanOrEqual(RECORD_HEADER_BYTES);
        // The record found after other bytes, with more bytes behind it, as in a segment.
        const segment = Buffer.concat([before, bytes, Buffer.alloc(16)]);
        expect(checkRecord(segment, before.length, where.logOffset)).toEqual({ kind: 'record', sizeBytes });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects a record found at a log offset other than the one it was written for', () => {
    fc.assert(
      fc.property(recordInput, placement, fc.maxSafeNat(), (input, where, otherLogOffset) => {
        fc.pre(otherLogOffset !== where.logOffset);
        const check = checkRecord(encodeRecord(input, where), 0, otherLogOffset);
        expect(check.kind).toBe('invalid');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('never accepts a record with any single byte in [4, size) changed', () => {
    fc.assert(
      fc.property(recordInput, placement, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, where, position, xor) => {
        const bytes = encodeRecord(input, where);
        const at = 4 + (position % (bytes.length - 4));
        const damaged = Buffer.from(bytes);
        damaged[at] ^= xor;
        const check = checkRecord(damaged, 0, where.logOffset);
        // Only 'invalid' or 'end' may come back: a 'blank' would silently skip the segment's rest.
        expect(['invalid', 'end']).toContain(check.kind);
      }),
      { numRuns: NUM_RUNS * 3 },
    );
  });

  it('says end of data, never invalid or record, for a record cut short anywhere', () => {
    fc.assert(
      fc.property(recordInput, placement, fc.nat(), (input, where, cut) => {
        const bytes = encodeRecord(input, where);
        const lengthKept = cut % bytes.length;
        expect(checkRecord(bytes.subarray(0, lengthKept), 0, where.logOffset)).toEqual({ kind: 'end' });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('reads zeros as the end of written data and a blank as the segment tail', () => {
    expect(checkRecord(Buffer.alloc(4096), 0, 0)).toEqual({ kind: 'end' });
    fc.assert(
      fc.property(fc.integer({ min: BLANK_RECORD_BYTES_MIN, max: 1 << 30 }), (sizeBytes) => {
        expect(checkRecord(encodeBlank(sizeBytes), 0, 12_345)).toEqual({ kind: 'blank', sizeBytes });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('decodeRecord checks the CRC of bytes read back, unless the caller says it was checked', () => {
    const input: RecordInput = { topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1, properties: new Map([['k', 'v']]), body: Buffer.from('body') };
    const bytes = encodeRecord(input, { logOffset: 0, queueOffset: 0, storeTimestampMs: 2 });
    bytes[bytes.length - 1] ^= 1;
    expect(() => decodeRecord(bytes)).toThrow(/record CRC mismatch on read/);
    expect(decodeRecord(bytes, true).body.toString()).toBe('bodx'); // e.g. right after checkRecord, or bytes that never left memory
  });

  it('refuses to view a record that runs past the bytes it lies in, whatever its CRC says', () => {
    const input: RecordInput = { topic: 'T', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 1, properties: new Map([['k', 'v']]), body: Buffer.from('body') };
    const bytes = encodeRecord(input, { logOffset: 0, queueOffset: 0, storeTimestampMs: 2 });
    for (const cut of [1, 4, bytes.length - 8]) {
      expect(() => new StoredRecord(bytes.subarray(0, bytes.length - cut), 0, true)).toThrow(/runs past the bytes read/);
    }
    expect(() => new StoredRecord(bytes, bytes.length, true)).toThrow(/runs past the bytes read|not a record/);
  });

  it('reads u32 and u64 fields as Buffer does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 24 }), fc.nat(16), (bytes, at) => {
        const buf = Buffer.from(bytes);
        const start = at % (buf.length - 7);
        expect(u32At(buf, start)).toBe(buf.readUInt32BE(start));
        expect(u64At(buf, start)).toBe(readU64(buf, start));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('views a record where it lies in a larger buffer, and finds one property by its bytes as the map has it', () => {
    fc.assert(
      fc.property(recordInput, placement, fc.nat(64), fc.array(text(16), { maxLength: 3 }), (input, where, before, otherKeys) => {
        const bytes = encodeRecord(input, where);
        const source = Buffer.concat([Buffer.alloc(before, 0xee), bytes, Buffer.alloc(5, 0xee)]);
        const record = new StoredRecord(source, before, false);
        expect(record).toMatchObject({ topic: input.topic, queueId: input.queueId, queueOffset: where.queueOffset, sizeBytes: bytes.length, bodyLength: input.body.byteLength });
        expect([record.logOffset, record.storeTimestampMs, record.bornTimestampMs, record.flags, record.tagHash]).toEqual([where.logOffset, where.storeTimestampMs, input.bornTimestampMs, input.flags, input.tagHash]);
        // Looked up before the map exists (from the bytes), then after (from the map): the same answers.
        const properties = input.properties as Map<string, string>;
        const keys = [...properties.keys(), ...otherKeys];
        const lookedUp = keys.map((key) => record.property(key));
        expect(lookedUp).toEqual(keys.map((key) => properties.get(key)));
        expect(record.properties).toEqual(properties);
        expect(keys.map((key) => record.property(key))).toEqual(lookedUp);
        expect(Buffer.compare(record.body, Buffer.from(input.body))).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('encodes into views of one slab and into other buffers in turn the same bytes as alone', () => {
    // The encoder keeps a DataView of the buffer it wrote last: switching targets must not write through a stale one.
    fc.assert(
      fc.property(fc.array(fc.tuple(recordInput, placement, fc.boolean()), { minLength: 1, maxLength: 6 }), (records) => {
        const slab = Buffer.alloc(records.reduce((sum, [input]) => sum + encodedSizeBytes(input), 0) + 16, 0xee);
        const slabView = slab.subarray(8); // a view at an offset, as a slab may be
        let at = 0;
        for (const [input, where, elsewhereFirst] of records) {
          const alone = encodeRecord(input, where);
          if (elsewhereFirst) encodeRecordInto(Buffer.alloc(alone.length), 0, input, where, alone.length);
          encodeRecordInto(slabView, at, input, where, alone.length);
          expect(Buffer.compare(slabView.subarray(at, at + alone.length), alone)).toBe(0);
          at += alone.length;
        }
        expect(slab.subarray(0, 8)).toEqual(Buffer.alloc(8, 0xee)); // nothing written before the view
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses a queue id or property count a record cannot hold, rather than writing it wrapped', () => {
    const input: RecordInput = { topic: 't', queueId: 0, tagHash: 0, flags: 0, bornTimestampMs: 0, properties: [], body: Buffer.from('x') };
    const where = { logOffset: 0, queueOffset: 0, storeTimestampMs: 0 };
    expect(() => encodeRecord({ ...input, queueId: -1 }, where)).toThrow(/queue id out of range/);
    expect(() => encodeRecord({ ...input, queueId: U32_MAX + 1 }, where)).toThrow(/queue id out of range/);
    const many = Array.from({ length: 0x10000 }, (_, i) => [`k${i}`, '']).flat();
    expect(() => encodeRecord({ ...input, properties: many }, where)).toThrow(/too many properties/);
    expect(() => encodeRecord({ ...input, bornTimestampMs: -1 }, where)).toThrow(/u64 field out of range/);
  });

  it('hashes a tag to a non-zero u32 and no tag to 0', () => {
    expect(tagHashOf(undefined)).toBe(0);
    expect(tagHashOf('')).toBe(0);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (tag) => {
        const hash = tagHashOf(tag);
        expect(Number.isInteger(hash) && hash > 0 && hash <= U32_MAX).toBe(true);
        expect(tagHashOf(tag)).toBe(hash);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
