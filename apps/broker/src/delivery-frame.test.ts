// Delivery frames written from stored record bytes against the generated code: for random
// messages stored as the broker stores them (every system property, empty and unicode strings,
// keys, GZIP bodies, large bodies, records without a stored digest, unknown properties), the
// frame decodes (generated fromBinary) to exactly the v2 message the broker builds without the
// fast path (toWireMessage of fromStoredRecord, what create() would make), and has the same bytes
// as the generated toBinary and as the hand-written v2 codec whenever no user-property key is an
// array index (a JS object puts those first, so the map entries come in another order).
import fc from 'fast-check';
import { encodeReceiveMessageResponse, equals, fromBinary, ScratchBuffer, toBinary, v2 } from '@rmq/contracts';
import { SYSTEM_PROPERTY, toAppendInput, USER_PROPERTY_PREFIX, type OutgoingMessage } from '@rmq/messaging';
import { encodeRecord, propertyMap, StoredRecord } from '@rmq/store';
import { DeliveryFrame, encodeFromRecord } from './delivery-frame';

const RUNS = 400;

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 30, maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'é', '\ud83d\ude00', '\ud800', '\ufeffbom', 'x'.repeat(33)) },
);
const key = text.filter((k) => k !== '__proto__');
const millis = fc.oneof(fc.constantFrom(0, 999, 1000, 1_700_000_000_123), fc.integer({ min: 0, max: 2 ** 45 }), fc.maxSafeNat());
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const message: fc.Arbitrary<OutgoingMessage> = fc.record({
  topic: text,
  body: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 1000, maxLength: 1100 }), fc.uint8Array({ minLength: 70_000, maxLength: 70_100 })),
  messageId: text,
  messageType: fc.constantFrom('NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'),
  tag: optional(text),
  keys: fc.array(text, { maxLength: 3 }),
  messageGroup: optional(text),
  bornTimestampMs: millis,
  bornHost: text,
  traceContext: optional(text),
  bodyEncoding: optional(fc.constantFrom('IDENTITY', 'GZIP')),
  deliveryTimestampMs: optional(millis),
  orphanedRecoveryMs: optional(fc.nat()),
  userProperties: fc.uniqueArray(fc.tuple(key, text), { selector: ([k]) => k, maxLength: 6 }).map((entries) => new Map(entries)),
}, { requiredKeys: ['topic', 'body', 'messageId', 'messageType', 'keys', 'bornTimestampMs', 'bornHost', 'userProperties'] });

/** What else a stored record may hold: no stored digest (older records), properties nobody delivers. */
const extras = fc.record({
  dropDigest: fc.boolean(),
  other: fc.uniqueArray(fc.tuple(fc.constantFrom(SYSTEM_PROPERTY.dlqOriginTopic, 's.realTopic', 's.unknown', 'k', 's', 'u', ''), text), { selector: ([k]) => k, maxLength: 2 }),
});

const delivery = fc.record({
  receiptHandle: fc.oneof(text, fc.base64String({ minLength: 80, maxLength: 140 })),
  deliveryAttempt: fc.oneof(fc.constantFrom(1, 16, 128), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  invisibleMs: millis,
  storeHost: text,
  namespace: text,
});

const placement = fc.record({
  queueId: fc.oneof(fc.constantFrom(0, 1, 127, 128), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  queueOffset: fc.oneof(fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32), fc.maxSafeNat()),
  logOffset: fc.maxSafeNat(),
  storeTimestampMs: millis,
  /** Bytes before the record in its buffer, as in a block read. */
  before: fc.nat(64),
});

type Extras = { dropDigest: boolean; other: [string, string][]; replace?: [string, string] };

function storedRecord(m: OutgoingMessage, extra: Extras, where: { queueId: number; queueOffset: number; logOffset: number; storeTimestampMs: number; before: number }): StoredRecord {
  const input = toAppendInput(m, where.queueId);
  const properties = propertyMap(input.properties);
  if (extra.dropDigest) properties.delete(SYSTEM_PROPERTY.bodyMd5);
  for (const [k, v] of extra.other) if (!properties.has(k)) properties.set(k, v);
  if (extra.replace) properties.set(extra.replace[0], extra.replace[1]);
  const bytes = encodeRecord({ ...input, properties }, where);
  const source = Buffer.concat([Buffer.alloc(where.before, 0xee), bytes, Buffer.alloc(7, 0xee)]);
  return new StoredRecord(source, where.before, false);
}

function frameOf(record: StoredRecord, d: { receiptHandle: string; deliveryAttempt: number; invisibleMs: number; storeHost: string; namespace: string }): DeliveryFrame {
  return new DeliveryFrame(record, d.receiptHandle, d.deliveryAttempt, d.invisibleMs, d.storeHost, d.namespace);
}

const isArrayIndex = (k: string) => /^(0|[1-9]\d*)$/.test(k) && Number(k) < 2 ** 32 - 1;

function expectSameAsGeneric(frame: DeliveryFrame, bytes: Buffer): void {
  const expected = frame.genericFrame();
  const expectedBytes = toBinary(v2.ReceiveMessageResponseSchema, expected);
  // Both through the generated decoder, which drops a string's leading byte order mark (TextDecoder).
  const decoded = fromBinary(v2.ReceiveMessageResponseSchema, bytes);
  expect(equals(v2.ReceiveMessageResponseSchema, decoded, fromBinary(v2.ReceiveMessageResponseSchema, expectedBytes))).toBe(true);
  const indexKeys = [...frame.record.properties.keys()].some((k) => k.startsWith(USER_PROPERTY_PREFIX) && isArrayIndex(k.slice(USER_PROPERTY_PREFIX.length)));
  if (!indexKeys) {
    expect(bytes.equals(Buffer.from(expectedBytes))).toBe(true);
    expect(bytes.equals(encodeReceiveMessageResponse(expected))).toBe(true);
  }
}

describe('delivery frames from stored record bytes', () => {
  it('decode to the message the broker builds without them, with the same bytes', () => {
    const scratch = new ScratchBuffer();
    fc.assert(
      fc.property(message, extras, placement, delivery, (m, extra, where, d) => {
        const frame = frameOf(storedRecord(m, extra, where), d);
        const bytes = encodeFromRecord(frame, scratch);
        expect(bytes).toBeDefined();
        expectSameAsGeneric(frame, Buffer.from(bytes!));
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
  });

  it('write into the scratch buffer the same bytes, each valid until the next frame', () => {
    const scratch = new ScratchBuffer();
    fc.assert(
      fc.property(message, extras, placement, delivery, message, (a, extra, where, d, b) => {
        const first = frameOf(storedRecord(a, extra, where), d);
        const second = frameOf(storedRecord(b, extra, where), d);
        const firstBytes = Buffer.from(first.encodeInto(scratch));
        expect(second.encodeInto(scratch).equals(second.encodeInto(new ScratchBuffer()))).toBe(true);
        expect(first.encodeInto(new ScratchBuffer()).equals(firstBytes)).toBe(true);
      }),
      { numRuns: 100, endOnFailure: true },
    );
  });

  it('leave values they do not cover to the generic path, with the same result as before', () => {
    const scratch = new ScratchBuffer();
    // Delivery times the broker never stores (it writes whole milliseconds): the generic path encodes them.
    const uncovered = fc.record({ replace: fc.constantFrom<[string, string]>([SYSTEM_PROPERTY.deliveryTimestampMs, '-5'], [SYSTEM_PROPERTY.deliveryTimestampMs, '1.5']) });
    fc.assert(
      fc.property(message, uncovered, placement, delivery, (m, { replace }, where, d) => {
        const frame = frameOf(storedRecord(m, { dropDigest: false, other: [], replace }, where), d);
        expect(encodeFromRecord(frame, scratch)).toBeUndefined();
        const bytes = frame.encodeInto(scratch);
        expect(bytes.equals(encodeReceiveMessageResponse(frame.genericFrame()))).toBe(true);
      }),
      { numRuns: 50, endOnFailure: true },
    );
    const highQueue = frameOf(storedRecord(fc.sample(message, 1)[0], { dropDigest: false, other: [] }, { queueId: 2 ** 31, queueOffset: 1, logOffset: 0, storeTimestampMs: 1, before: 0 }), fc.sample(delivery, 1)[0]);
    expect(encodeFromRecord(highQueue, scratch)).toBeUndefined();
    // A message type it does not know is not written as some other type (the generic path cannot encode it either).
    const unknownType = frameOf(storedRecord(fc.sample(message, 1)[0], { dropDigest: false, other: [], replace: [SYSTEM_PROPERTY.messageType, 'PRIORITY'] }, { queueId: 1, queueOffset: 1, logOffset: 0, storeTimestampMs: 1, before: 0 }), fc.sample(delivery, 1)[0]);
    expect(encodeFromRecord(unknownType, scratch)).toBeUndefined();
  });
});
