// The delivered-message frame against the generated code: for random stored messages and
// deliveries, the frame encoded from flat fields decodes (generated fromBinary) to exactly the
// ReceiveMessageResponse the broker would build with create(), and has the same bytes as the
// generated toBinary whenever no user-property key is an array index (a JS object puts those
// first; the map entries are then in another order, which protobuf allows).
import fc from 'fast-check';
import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import * as v2 from '../v2';
import { DELIVERED_MESSAGE, deliveredMessageEncodable, encodeDeliveredMessageFrame, type DeliveredMessage } from './delivered-message';
import { ScratchBuffer } from './wire';

const RUNS = 300;
const PREFIX = 'u.';

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud83d\ude00', 'é', '') },
);
const millis = fc.oneof(fc.constantFrom(0, 999, 1000, 1_700_000_000_123), fc.integer({ min: 0, max: 2 ** 45 }), fc.maxSafeNat());
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
/** Record properties: user ones under the prefix, system ones (not delivered as user properties) beside them. */
const properties = fc
  .array(fc.tuple(fc.boolean(), text.filter((key) => key !== '__proto__'), text), { maxLength: 6 })
  .map((entries) => new Map(entries.map(([user, key, value]) => [user ? PREFIX + key : `s.${key}`, value])));

const delivered: fc.Arbitrary<DeliveredMessage> = fc.record({
  $typeName: fc.constant(DELIVERED_MESSAGE),
  topic: text,
  namespace: text,
  properties,
  userPropertyPrefix: fc.constant(PREFIX),
  tag: optional(text),
  keys: fc.array(text, { maxLength: 3 }),
  messageId: text,
  bodyMd5Hex: fc.oneof(fc.constant(''), fc.stringMatching(/^[0-9A-F]{32}$/)),
  bodyEncoding: fc.constantFrom(v2.Encoding.IDENTITY, v2.Encoding.GZIP),
  messageType: fc.constantFrom(v2.MessageType.NORMAL, v2.MessageType.FIFO, v2.MessageType.DELAY, v2.MessageType.TRANSACTION),
  bornTimestampMs: millis,
  bornHost: text,
  storeTimestampMs: millis,
  storeHost: text,
  deliveryTimestampMs: optional(millis),
  receiptHandle: text,
  queueId: fc.oneof(fc.constantFrom(0, 1, 127, 128), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  queueOffset: fc.oneof(fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32), fc.maxSafeNat()),
  invisibleMs: millis,
  deliveryAttempt: fc.oneof(fc.constantFrom(1, 16, 128), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  messageGroup: optional(text),
  traceContext: optional(text),
  body: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 1000, maxLength: 1100 })),
});

const timestamp = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });

/** The frame as the broker builds it without the fast path (message-codec.ts toWireMessage), through create(). */
function expectedFrame(m: DeliveredMessage): v2.ReceiveMessageResponse {
  const userProperties: Record<string, string> = {};
  for (const [key, value] of m.properties) if (key.startsWith(PREFIX)) userProperties[key.slice(PREFIX.length)] = value;
  const message = create(v2.MessageSchema, {
    topic: { name: m.topic, resourceNamespace: m.namespace },
    userProperties,
    systemProperties: {
      tag: m.tag,
      keys: [...m.keys],
      messageId: m.messageId,
      bodyDigest: { type: v2.DigestType.MD5, checksum: m.bodyMd5Hex },
      bodyEncoding: m.bodyEncoding,
      messageType: m.messageType,
      bornTimestamp: timestamp(m.bornTimestampMs),
      bornHost: m.bornHost,
      storeTimestamp: timestamp(m.storeTimestampMs),
      storeHost: m.storeHost,
      deliveryTimestamp: m.deliveryTimestampMs === undefined ? undefined : timestamp(m.deliveryTimestampMs),
      receiptHandle: m.receiptHandle,
      queueId: m.queueId,
      queueOffset: BigInt(m.queueOffset),
      invisibleDuration: timestamp(m.invisibleMs),
      deliveryAttempt: m.deliveryAttempt,
      messageGroup: m.messageGroup,
      traceContext: m.traceContext,
    },
    body: m.body,
  });
  return create(v2.ReceiveMessageResponseSchema, { content: { case: 'message', value: message } });
}

const isArrayIndex = (key: string) => /^(0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;

describe('delivered-message frame', () => {
  it('decodes to the message the broker would build, with the same bytes', () => {
    fc.assert(
      fc.property(delivered, (m) => {
        expect(deliveredMessageEncodable(m)).toBe(true);
        const frame = encodeDeliveredMessageFrame(m);
        const expected = expectedFrame(m);
        const decoded = fromBinary(v2.ReceiveMessageResponseSchema, frame);
        expect(equals(v2.ReceiveMessageResponseSchema, decoded, expected)).toBe(true);
        const indexKeys = [...m.properties.keys()].some((key) => key.startsWith(PREFIX) && isArrayIndex(key.slice(PREFIX.length)));
        if (!indexKeys) expect(Buffer.from(frame).equals(Buffer.from(toBinary(v2.ReceiveMessageResponseSchema, expected)))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('writes into a scratch buffer the same bytes, each valid until the next frame', () => {
    const scratch = new ScratchBuffer();
    fc.assert(
      fc.property(delivered, delivered, (a, b) => {
        const fresh = encodeDeliveredMessageFrame(a);
        const inScratch = encodeDeliveredMessageFrame(a, scratch);
        expect(inScratch.equals(fresh)).toBe(true);
        expect(encodeDeliveredMessageFrame(b, scratch).equals(encodeDeliveredMessageFrame(b))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('leaves values it does not cover to the generic path', () => {
    const base = fc.sample(delivered, 1)[0];
    for (const change of [{ bornTimestampMs: -1 }, { queueOffset: 1.5 }, { invisibleMs: Number.MAX_SAFE_INTEGER + 2 }, { deliveryTimestampMs: -5 }, { queueId: -1 }, { messageType: 0 }]) {
      expect(deliveredMessageEncodable({ ...base, ...change })).toBe(false);
    }
  });
});
