// fromWireColumns (a SendMessage's message read by column) against the version it replaced, which
// read the generated tree (kept below, verbatim, as the reference): for any message, the same domain
// message or the same refusal (code and reason), checks in the same order.
import fc from 'fast-check';
import { create, durationMs, sendRequestColumns, timestampMs, toBinary, v2 } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import type { BodyEncoding, MessageType, OutgoingMessage } from '@rmq/messaging';
import { fromWireColumns } from './message-codec';

// ---- the reference: main at 61cd8fc ----

const MESSAGE_TYPE_FROM_WIRE: Partial<Record<v2.MessageType, MessageType>> = {
  [v2.MessageType.NORMAL]: 'NORMAL',
  [v2.MessageType.FIFO]: 'FIFO',
  [v2.MessageType.DELAY]: 'DELAY',
  [v2.MessageType.TRANSACTION]: 'TRANSACTION',
};

function fromWireMessage(message: v2.Message): OutgoingMessage {
  const system = message.systemProperties;
  if (!system) throw new RmqError('BAD_REQUEST', { reason: 'the message has no system properties' });
  if (!system.messageId) throw new RmqError('BAD_REQUEST', { reason: 'the message has no message id' });
  const bodyEncoding = bodyEncodingFromWire(system.bodyEncoding, message.body);
  let messageType = MESSAGE_TYPE_FROM_WIRE[system.messageType];
  if (system.messageType === v2.MessageType.MESSAGE_TYPE_UNSPECIFIED) messageType = system.messageGroup ? 'FIFO' : system.deliveryTimestamp ? 'DELAY' : 'NORMAL';
  if (!messageType) throw new RmqError('UNSUPPORTED', { feature: `message type ${v2.MessageType[system.messageType] ?? system.messageType}` });
  if (system.deliveryTimestamp && messageType !== 'DELAY') messageType = 'DELAY';
  const deliveryTimestampMs = system.deliveryTimestamp ? timestampMs(system.deliveryTimestamp) : undefined;
  if (deliveryTimestampMs !== undefined && (!Number.isSafeInteger(deliveryTimestampMs) || deliveryTimestampMs < 0)) {
    throw new RmqError('BAD_REQUEST', { reason: `the delivery timestamp (${deliveryTimestampMs} ms since 1970) is out of range` });
  }
  const bornTimestampMs = system.bornTimestamp ? timestampMs(system.bornTimestamp) : Date.now();
  if (!Number.isSafeInteger(bornTimestampMs) || bornTimestampMs < 0) {
    throw new RmqError('BAD_REQUEST', { reason: `the born timestamp (${bornTimestampMs} ms since 1970) is out of range` });
  }
  return {
    topic: message.topic?.name ?? '',
    body: message.body,
    messageId: system.messageId,
    messageType,
    tag: system.tag,
    keys: system.keys,
    messageGroup: system.messageGroup,
    bornTimestampMs,
    bornHost: system.bornHost,
    traceContext: system.traceContext,
    bodyEncoding,
    deliveryTimestampMs,
    orphanedRecoveryMs: system.orphanedTransactionRecoveryDuration ? durationMs(system.orphanedTransactionRecoveryDuration) : undefined,
    userProperties: userPropertiesFromWire(message.userProperties),
  };
}

const NO_USER_PROPERTIES: ReadonlyMap<string, string> = new Map();

/** Most messages have none: then one shared empty Map, not an entries array and a Map per message. */
function userPropertiesFromWire(properties: Record<string, string>): ReadonlyMap<string, string> {
  let map: Map<string, string> | undefined;
  for (const key of Object.keys(properties)) (map ??= new Map()).set(key, properties[key]);
  return map ?? NO_USER_PROPERTIES;
}

/**
 * GZIP bodies are stored and delivered as sent (the digest covers the compressed bytes, as the
 * clients check it before they gunzip); a body without gzip's magic bytes would make every
 * consumer's receive fail, so it is refused here.
 */
function bodyEncodingFromWire(encoding: v2.Encoding, body: Uint8Array): BodyEncoding {
  if (encoding === v2.Encoding.IDENTITY || encoding === v2.Encoding.ENCODING_UNSPECIFIED) return 'IDENTITY';
  if (encoding !== v2.Encoding.GZIP) throw new RmqError('BAD_REQUEST', { reason: `body encoding ${encoding} is unknown; use IDENTITY (1) or GZIP (2)` });
  if (body.byteLength > 0 && (body.byteLength < 18 || body[0] !== 0x1f || body[1] !== 0x8b)) {
    throw new RmqError('BAD_REQUEST', { reason: 'the body is marked GZIP but is not gzip data (it does not start with the bytes 1f 8b)' });
  }
  return 'GZIP';
}

// ---- the comparison ----

const text = fc.oneof(fc.constantFrom('', 'a', 'Topic', 'k v', '%RETRY%g', '*', 'x|y'), fc.string({ maxLength: 8 }));
const int64 = fc.oneof(fc.bigInt({ min: -5n, max: 2_000_000_000n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(9_007_199_254_740n, 9_007_199_254_741n));
const nanos = fc.oneof(fc.integer({ min: -2, max: 999_999_999 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
const secondsNanos = fc.record({ seconds: int64, nanos }, { requiredKeys: [] });
const gzip = Uint8Array.from([0x1f, 0x8b, ...new Array<number>(20).fill(1)]);
const body = fc.oneof(fc.constant(new Uint8Array(0)), fc.constant(gzip), fc.uint8Array({ maxLength: 30 }));
const systemProperties = fc.record({
  tag: text,
  keys: fc.array(text, { maxLength: 2 }),
  messageId: fc.oneof(fc.constant(''), fc.constant('01ABC')),
  bodyEncoding: fc.integer({ min: -1, max: 3 }),
  messageType: fc.integer({ min: -1, max: 6 }),
  bornTimestamp: secondsNanos,
  bornHost: text,
  deliveryTimestamp: secondsNanos,
  messageGroup: text,
  traceContext: text,
  orphanedTransactionRecoveryDuration: secondsNanos,
  queueId: fc.integer({ min: 0, max: 8 }),
}, { requiredKeys: [] });
const message = fc.record({
  topic: fc.record({ name: text, resourceNamespace: text }, { requiredKeys: [] }),
  userProperties: fc.dictionary(text, text, { maxKeys: 3 }),
  systemProperties,
  body,
}, { requiredKeys: [] });

function outcome(read: () => OutgoingMessage): unknown {
  try {
    const result = read();
    return { ...result, body: Array.from(result.body), userProperties: [...result.userProperties] };
  } catch (error) {
    if (!(error instanceof RmqError)) throw error;
    return { code: error.code, reason: error.message };
  }
}

describe('a sent message read by column', () => {
  test('is read and refused as the generated tree was', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), (init) => {
        const request = create(v2.SendMessageRequestSchema, { messages: init as never });
        const bytes = toBinary(v2.SendMessageRequestSchema, request);
        const columns = sendRequestColumns(request);
        expect(columns.count).toBe(request.messages.length);
        for (let i = 0; i < columns.count; i++) {
          const expected = outcome(() => fromWireMessage(request.messages[i])) as Record<string, unknown>;
          const actual = outcome(() => fromWireColumns(columns, i)) as Record<string, unknown>;
          // A message without a born timestamp is born now: both read the clock.
          if (typeof expected.bornTimestampMs === 'number' && !request.messages[i].systemProperties?.bornTimestamp) {
            expect(Math.abs((actual.bornTimestampMs as number) - expected.bornTimestampMs)).toBeLessThan(5_000);
            actual.bornTimestampMs = expected.bornTimestampMs;
          }
          expect(actual).toStrictEqual(expected);
        }
        expect(bytes.length).toBeGreaterThan(0);
      }),
      { numRuns: 2_000 },
    );
  });
});
