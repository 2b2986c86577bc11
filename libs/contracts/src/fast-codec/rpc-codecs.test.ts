// The hand-written hot-path codec against the generated @bufbuild/protobuf code, which is the
// contract: random messages with every field (unknown fields included) must decode to the same
// objects and encode to the same bytes; random and merged bytes must decode alike or fail alike.
import fc from 'fast-check';
import { create, fromBinary, toBinary, type DescMessage, type MessageShape, type UnknownField } from '@bufbuild/protobuf';
import { DurationSchema, TimestampSchema } from '@bufbuild/protobuf/wkt';
import * as v2 from '../v2';
import * as replication from '../gen/rmq/replication/v1/replication_pb';
import { ScratchBuffer } from './wire';
import {
  decodeAckMessageRequest,
  decodeSendMessageRequest,
  encodeAckMessageResponse,
  encodeFollowResponse,
  encodeReceiveMessageResponse,
  encodeSendMessageResponse,
} from './rpc-codecs';
import { decodeReceiveMessageRequest } from './receive-request-codec';
import { decodeSendRequestChunks, decodeSendRequestColumns, SEND_FIELD, type SendRequestColumns } from './send-request';
import { encodeSendMessageReply, SendMessageReply, type SentMessage } from './send-reply';
import { decodeFollowResponse, encodeFollowProgress } from './follow-codecs';

const RUNS = 200;

// ---- arbitraries ----

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 100, maxLength: 300 }) }, // length prefixes of 2 bytes
  { weight: 1, arbitrary: fc.constantFrom('\ud800', 'a\udc00b', '\ud83d\ude00') }, // lone surrogates and a pair
  { weight: 1, arbitrary: fc.constantFrom('\ufeff', '\ufefftag', 'a\ufeff') }, // byte order marks, leading or not
);
const int32 = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
const int64 = fc.oneof(fc.bigInt({ min: -5n, max: 300n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 120, maxLength: 2000 }));

/** Unknown fields with numbers no message here uses, each as the generated code keeps them. */
const unknownField: fc.Arbitrary<UnknownField> = fc.oneof(
  fc.record({ no: fc.integer({ min: 100, max: 2 ** 29 - 1 }), value: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }).map(({ no, value }) => ({ no, wireType: 0, data: varint(value) })),
  fc.record({ no: fc.integer({ min: 100, max: 5000 }), data: fc.uint8Array({ maxLength: 20 }) }).map(({ no, data }) => ({ no, wireType: 2, data: Uint8Array.from([...varint(data.length), ...data]) })),
  fc.record({ no: fc.integer({ min: 100, max: 5000 }), data: fc.uint8Array({ minLength: 4, maxLength: 4 }) }).map(({ no, data }) => ({ no, wireType: 5, data })),
  fc.record({ no: fc.integer({ min: 100, max: 5000 }), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }).map(({ no, data }) => ({ no, wireType: 1, data })),
);
const unknown = fc.option(fc.array(unknownField, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 });

function varint(value: number): Uint8Array {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return Uint8Array.from(out);
}

/** Every schema an arbitrary was made for, with the fields it fills (checked against the schema below). */
const covered: { schema: DescMessage; fields: string[] }[] = [];

/** A message made with create() from random field values; `$unknown` set when drawn. */
function message<D extends DescMessage>(schema: D, fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<MessageShape<D>> {
  covered.push({ schema, fields: Object.keys(fields) });
  return fc.record({ fields: fc.record(fields, { requiredKeys: [] }), $unknown: unknown }).map(({ fields: init, $unknown }) => {
    const made = create(schema, init as never) as MessageShape<D> & { $unknown?: UnknownField[] };
    if ($unknown) made.$unknown = $unknown;
    return made;
  });
}

const secondsNanos = { seconds: int64, nanos: int32 };
const timestamp = message(TimestampSchema, secondsNanos);
const duration = message(DurationSchema, secondsNanos);
const resource = message(v2.ResourceSchema, { resourceNamespace: text, name: text });
const status = message(v2.StatusSchema, { code: int32, message: text });
const systemProperties = message(v2.SystemPropertiesSchema, {
  tag: text,
  keys: fc.array(text, { maxLength: 3 }),
  messageId: text,
  bodyDigest: message(v2.DigestSchema, { type: int32, checksum: text }),
  bodyEncoding: int32,
  messageType: int32,
  bornTimestamp: timestamp,
  bornHost: text,
  storeTimestamp: timestamp,
  storeHost: text,
  deliveryTimestamp: timestamp,
  receiptHandle: text,
  queueId: int32,
  queueOffset: int64,
  invisibleDuration: duration,
  deliveryAttempt: int32,
  messageGroup: text,
  traceContext: text,
  orphanedTransactionRecoveryDuration: duration,
  deadLetterQueue: message(v2.DeadLetterQueueSchema, { topic: text, messageId: text }),
  liteTopic: text,
  priority: int32,
});
const wireMessage = message(v2.MessageSchema, {
  topic: resource,
  userProperties: fc.dictionary(text, text, { maxKeys: 4 }),
  systemProperties,
  body: bytes,
});

const sendRequest = message(v2.SendMessageRequestSchema, { messages: fc.array(wireMessage, { maxLength: 3 }) });
const ackEntry = message(v2.AckMessageEntrySchema, { messageId: text, receiptHandle: text, liteTopic: text });
const ackRequest = message(v2.AckMessageRequestSchema, { group: resource, topic: resource, entries: fc.array(ackEntry, { maxLength: 4 }) });
const enumValues = fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), int32), { maxLength: 4 });
const address = message(v2.AddressSchema, { host: text, port: int32 });
const endpoints = message(v2.EndpointsSchema, { scheme: int32, addresses: fc.array(address, { maxLength: 3 }) });
const broker = message(v2.BrokerSchema, { name: text, id: int32, endpoints });
const messageQueue = message(v2.MessageQueueSchema, { topic: resource, id: int32, permission: int32, broker, acceptMessageTypes: enumValues });
const filterExpression = message(v2.FilterExpressionSchema, { type: int32, expression: text });
const receiveRequest = message(v2.ReceiveMessageRequestSchema, {
  group: resource,
  messageQueue,
  filterExpression,
  batchSize: int32,
  invisibleDuration: duration,
  autoRenew: fc.boolean(),
  longPollingTimeout: duration,
  attemptId: text,
});
const receiveResponse = message(v2.ReceiveMessageResponseSchema, {
  content: fc.oneof(
    wireMessage.map((value) => ({ case: 'message' as const, value })),
    status.map((value) => ({ case: 'status' as const, value })),
    timestamp.map((value) => ({ case: 'deliveryTimestamp' as const, value })),
    fc.constant({ case: undefined }),
  ),
});
const sendResult = message(v2.SendResultEntrySchema, { status, messageId: text, transactionId: text, offset: int64, recallHandle: text });
const sendResponse = message(v2.SendMessageResponseSchema, { status, entries: fc.array(sendResult, { maxLength: 4 }) });
const ackResult = message(v2.AckMessageResultEntrySchema, { messageId: text, receiptHandle: text, status });
const ackResponse = message(v2.AckMessageResponseSchema, { status, entries: fc.array(ackResult, { maxLength: 4 }) });
const followResponse = message(replication.FollowResponseSchema, { epoch: int64, startLogOffset: int64, data: bytes, committedLogOffset: int64, logEndOffset: int64 });

// ---- comparison ----

/** Byte fields as plain arrays (the fast decoder gives Buffer slices, the generated one Uint8Arrays). */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function outcome(decode: () => unknown): unknown {
  try {
    return { ok: plain(decode()) };
  } catch {
    return { failed: true };
  }
}

function checkDecoder<D extends DescMessage>(schema: D, arbitrary: fc.Arbitrary<MessageShape<D>>, decode: (bytes: Buffer) => unknown): void {
  fc.assert(
    fc.property(arbitrary, (made) => {
      const wire = Buffer.from(toBinary(schema, made));
      expect(plain(decode(wire))).toStrictEqual(plain(fromBinary(schema, wire)));
    }),
    { numRuns: RUNS },
  );
  // Fields repeated across two encodings merge (nested messages) or overwrite (scalars) alike.
  fc.assert(
    fc.property(arbitrary, arbitrary, (a, b) => {
      const wire = Buffer.concat([toBinary(schema, a), toBinary(schema, b)]);
      expect(plain(decode(wire))).toStrictEqual(plain(fromBinary(schema, wire)));
    }),
    { numRuns: RUNS },
  );
  // Arbitrary bytes, and valid encodings with a few bytes changed: same result or both refuse.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (wire) => {
      expect(outcome(() => decode(Buffer.from(wire)))).toStrictEqual(outcome(() => fromBinary(schema, wire)));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(arbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (made, changes) => {
      const wire = Buffer.from(toBinary(schema, made));
      if (wire.length === 0) return;
      for (const [at, value] of changes) wire[at % wire.length] = value;
      expect(outcome(() => decode(wire))).toStrictEqual(outcome(() => fromBinary(schema, wire)));
    }),
    { numRuns: RUNS },
  );
}

function checkEncoder<D extends DescMessage>(schema: D, arbitrary: fc.Arbitrary<MessageShape<D>>, encode: (message: MessageShape<D>) => Buffer): void {
  fc.assert(
    fc.property(arbitrary, (made) => {
      expect(Array.from(encode(made))).toStrictEqual(Array.from(toBinary(schema, made)));
    }),
    { numRuns: RUNS },
  );
}

describe('hot-path codec against the generated code', () => {
  test('the random messages fill every field the schemas declare (a new proto field must reach the codec and these tests)', () => {
    for (const { schema, fields } of covered) {
      const declared = new Set(schema.fields.map((field) => field.oneof?.localName ?? field.localName));
      expect({ message: schema.typeName, fields: new Set(fields) }).toEqual({ message: schema.typeName, fields: declared });
    }
  });

  test('SendMessageRequest decodes as fromBinary does (every Message and SystemProperties field, unknown fields kept)', () => {
    checkDecoder(v2.SendMessageRequestSchema, sendRequest, decodeSendMessageRequest);
  });

  test('AckMessageRequest decodes as fromBinary does', () => {
    checkDecoder(v2.AckMessageRequestSchema, ackRequest, decodeAckMessageRequest);
  });

  test('ReceiveMessageRequest decodes as fromBinary does (queue, broker, endpoints, filter, durations, bool, optional attempt id)', () => {
    checkDecoder(v2.ReceiveMessageRequestSchema, receiveRequest, decodeReceiveMessageRequest);
  });

  test('ReceiveMessageRequest: a repeated enum unpacked (one value per field) or packed, and bools of any varint length, decode as fromBinary does', () => {
    // MessageQueue (field 2) with accept_message_types (field 5) as three unpacked values and one packed run, then auto_renew (6).
    const queue = [0x28, 0x01, 0x28, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x2a, 0x02, 0x02, 0x03, 0x28, 0x04];
    for (const autoRenew of [[0x00], [0x01], [0x80, 0x00], [0x80, 0x80, 0x80, 0x80, 0x10], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]]) {
      const wire = Buffer.from([0x12, queue.length, ...queue, 0x30, ...autoRenew]);
      expect(plain(decodeReceiveMessageRequest(wire))).toStrictEqual(plain(fromBinary(v2.ReceiveMessageRequestSchema, wire)));
    }
    expect(decodeReceiveMessageRequest(Buffer.from([0x12, queue.length, ...queue])).messageQueue?.acceptMessageTypes).toEqual([1, -1, 2, 3, 4]);
  });

  test('ReceiveMessageResponse encodes byte for byte as toBinary does (message, status, delivery timestamp)', () => {
    checkEncoder(v2.ReceiveMessageResponseSchema, receiveResponse, encodeReceiveMessageResponse);
  });

  test('SendMessageResponse and AckMessageResponse encode byte for byte as toBinary does', () => {
    checkEncoder(v2.SendMessageResponseSchema, sendResponse, encodeSendMessageResponse);
    checkEncoder(v2.AckMessageResponseSchema, ackResponse, encodeAckMessageResponse);
  });

  test('FollowResponse (replication) encodes byte for byte as toBinary does, also into a scratch buffer', () => {
    checkEncoder(replication.FollowResponseSchema, followResponse, encodeFollowResponse);
    const scratch = new ScratchBuffer();
    checkEncoder(replication.FollowResponseSchema, followResponse, (made) => Buffer.from(encodeFollowResponse(made, scratch)));
  });

  test('FollowResponse decodes as fromBinary does, its data a slice of the input; a Progress report encodes as toBinary does', () => {
    checkDecoder(replication.FollowResponseSchema, followResponse, decodeFollowResponse);
    const wire = Buffer.from(toBinary(replication.FollowResponseSchema, create(replication.FollowResponseSchema, { data: new Uint8Array(10) })));
    expect(decodeFollowResponse(wire).data.buffer).toBe(wire.buffer);
    const offset = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
    fc.assert(
      fc.property(offset, offset, (written, durable) => {
        const made = create(replication.FollowRequestSchema, { kind: { case: 'progress', value: { writtenLogOffset: BigInt(written), durableLogOffset: BigInt(durable) } } });
        expect(Array.from(encodeFollowProgress(written, durable))).toStrictEqual(Array.from(toBinary(replication.FollowRequestSchema, made)));
      }),
      { numRuns: RUNS },
    );
  });

  test('a Message survives encode (fast) then decode (fast), body a slice of the input', () => {
    fc.assert(
      fc.property(wireMessage, (made) => {
        const frame = encodeReceiveMessageResponse(create(v2.ReceiveMessageResponseSchema, { content: { case: 'message', value: made } }));
        // The frame is field 2 (message) of ReceiveMessageResponse; as field 1 it is a SendMessageRequest.
        const asRequest = Buffer.from(frame);
        asRequest[0] = 0x0a;
        const decoded = decodeSendMessageRequest(asRequest).messages[0];
        expect(plain(decoded)).toStrictEqual(plain(fromBinary(v2.MessageSchema, toBinary(v2.MessageSchema, made))));
        if (decoded.body.byteLength > 0) expect(decoded.body.buffer).toBe(asRequest.buffer);
      }),
      { numRuns: RUNS },
    );
  });

  test('SendMessageRequest by column: every field the send path reads as fromBinary gives it, the same bytes refused, the tree kept', () => {
    checkDecoder(v2.SendMessageRequestSchema, sendRequest, (wire) => columnsAsTree(decodeSendRequestColumns(wire), wire) as v2.SendMessageRequest);
  });

  test('SendMessageRequest by column stands in for the generated request (toBinary, messages, unknown fields)', () => {
    fc.assert(
      fc.property(sendRequest, (made) => {
        const wire = Buffer.from(toBinary(v2.SendMessageRequestSchema, made));
        const columns = decodeSendRequestColumns(wire);
        const tree = fromBinary(v2.SendMessageRequestSchema, wire);
        expect(plain(columns.tree())).toStrictEqual(plain(tree));
        expect(plain(columns.messages)).toStrictEqual(plain(tree.messages));
        // What a slave's forwarder does with it: the generated serializer writes what it wrote for the tree.
        expect(Array.from(toBinary(v2.SendMessageRequestSchema, columns as unknown as v2.SendMessageRequest))).toStrictEqual(Array.from(toBinary(v2.SendMessageRequestSchema, tree)));
      }),
      { numRuns: RUNS },
    );
  });

  test('SendMessageRequest by column from the chunks it arrived in reads as from one buffer: the same fields, the same refusals, the same bytes', () => {
    /** The request after a 5-byte frame header, cut into chunks of the sizes drawn (the last takes the rest). */
    const chunked = (wire: Uint8Array, sizes: number[]) => {
      const framed = Buffer.concat([Buffer.from([0, 1, 2, 3, 4]), wire]);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const size of sizes) {
        if (at >= framed.length) break;
        chunks.push(Buffer.from(framed.subarray(at, at + size))); // copies: no chunk shares memory with another
        at += size;
      }
      if (at < framed.length) chunks.push(Buffer.from(framed.subarray(at)));
      return { chunks, start: 5, length: wire.length };
    };
    const sizes = fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 40 });
    const same = (wire: Uint8Array, cut: number[]) => {
      const parts = chunked(wire, cut);
      const whole = Buffer.from(wire);
      expect(outcome(() => columnsAsTree(decodeSendRequestChunks(parts), whole))).toStrictEqual(outcome(() => columnsAsTree(decodeSendRequestColumns(whole), whole)));
      let columns: SendRequestColumns | undefined;
      try {
        columns = decodeSendRequestChunks(parts);
      } catch {
        return;
      }
      expect(Array.from(columns.bytes)).toStrictEqual(Array.from(whole));
    };
    fc.assert(fc.property(sendRequest, sizes, (made, cut) => same(toBinary(v2.SendMessageRequestSchema, made), cut)), { numRuns: RUNS });
    fc.assert(fc.property(sendRequest, sendRequest, sizes, (a, b, cut) => same(Buffer.concat([toBinary(v2.SendMessageRequestSchema, a), toBinary(v2.SendMessageRequestSchema, b)]), cut)), { numRuns: RUNS });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), sizes, (wire, cut) => same(wire, cut)), { numRuns: RUNS });
    fc.assert(
      fc.property(sendRequest, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), sizes, (made, changes, cut) => {
        const wire = Buffer.from(toBinary(v2.SendMessageRequestSchema, made));
        if (wire.length === 0) return;
        for (const [at, value] of changes) wire[at % wire.length] = value;
        same(wire, cut);
      }),
      { numRuns: RUNS },
    );
  });

  test('a first chunk shorter than the gRPC prefix: the request is read from its own first byte, never from the prefix', () => {
    // A prefix whose length bytes (2560 = 00 00 0a 00) read as an empty message would be taken for
    // one, and the request's own last two bytes (another empty message) left unread: the same count,
    // in another order, unless the cursor carries the prefix's remainder into the next chunk.
    const withBody = (size: number) => toBinary(v2.SendMessageRequestSchema, create(v2.SendMessageRequestSchema, { messages: [{ topic: { name: 'T' }, body: Buffer.alloc(size, 7) }] }));
    let first = withBody(2540);
    for (let size = 2500; first.length !== 2558; size++) first = withBody(size);
    const wire = Buffer.concat([first, Buffer.from([0x0a, 0x00])]);
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0x0a, 0x00]), wire]);
    for (const cut of [1, 2, 3, 4]) {
      const chunks = [Buffer.from(framed.subarray(0, cut)), Buffer.from(framed.subarray(cut, 1000)), Buffer.from(framed.subarray(1000))];
      const columns = decodeSendRequestChunks({ chunks, start: 5, length: wire.length });
      expect(columnsAsTree(columns, wire)).toStrictEqual(columnsAsTree(decodeSendRequestColumns(wire), wire));
      expect(columns.bodies[0].length).toBeGreaterThan(2000);
    }
  });

  test('a send in HTTP/2-sized chunks is read in place: bodies are views of the chunks, only straddling messages copied', () => {
    const request = create(v2.SendMessageRequestSchema, {
      messages: Array.from({ length: 40 }, (_, i) => ({
        topic: { name: 'T' }, body: Buffer.alloc(1024, i), systemProperties: { messageId: `id-${i}`, bornHost: 'h', bornTimestamp: { seconds: 1_700_000_000n, nanos: 5_000_000 } },
      })),
    });
    const framed = Buffer.concat([Buffer.alloc(5), toBinary(v2.SendMessageRequestSchema, request)]);
    const chunks: Buffer[] = [];
    for (let at = 0; at < framed.length; at += 16_384) chunks.push(Buffer.from(framed.subarray(at, at + 16_384)));
    const columns = decodeSendRequestChunks({ chunks, start: 5, length: framed.length - 5 });
    expect(columns.count).toBe(40);
    const inPlace = columns.bodies.filter((body) => chunks.some((chunk) => chunk.buffer === body.buffer)).length;
    expect(inPlace).toBeGreaterThanOrEqual(36); // 2 of 40 straddle a 16 KiB boundary
    expect(columns.bodies.map((body) => body[0])).toStrictEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(columns.bornMs[3]).toBe(1_700_000_000_005);
  });

  test('SendMessageResponse from the results encodes byte for byte as toBinary of its entries does', () => {
    const sent: fc.Arbitrary<SentMessage> = fc.record({
      messageId: text,
      queueOffset: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 + 5 }), fc.constantFrom(2 ** 35 - 1, 2 ** 35, 2 ** 42 + 3, Number.MAX_SAFE_INTEGER)),
      transactionId: fc.option(text, { nil: undefined }),
      recallHandle: fc.option(text, { nil: undefined }),
    }, { requiredKeys: ['messageId', 'queueOffset'] });
    const scratch = new ScratchBuffer();
    fc.assert(
      fc.property(fc.array(sent, { maxLength: 6 }), fc.option(status, { nil: undefined }), (results, topStatus) => {
        const reply = new SendMessageReply(results);
        reply.status = topStatus;
        const expected = toBinary(v2.SendMessageResponseSchema, create(v2.SendMessageResponseSchema, { status: topStatus, entries: reply.entries }));
        expect(Array.from(encodeSendMessageReply(reply))).toStrictEqual(Array.from(expected));
        expect(Array.from(encodeSendMessageReply(reply, scratch))).toStrictEqual(Array.from(expected));
        expect(reply.entries.map((entry) => entry.offset)).toStrictEqual(results.map((result) => BigInt(result.queueOffset)));
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * The columns as the generated tree of what they hold, for checkDecoder: fields the send path does
 * not read come from fromBinary (so the comparison covers the columns' fields only, and that both
 * decoders accept and refuse alike).
 */
function columnsAsTree(c: SendRequestColumns, wire: Buffer): unknown {
  let reference: v2.SendMessageRequest;
  try {
    reference = fromBinary(v2.SendMessageRequestSchema, wire);
  } catch {
    return { decodedByColumnsOnly: true }; // never equal to the outcome of a refusal
  }
  if (c.count !== reference.messages.length) return { columns: c.count, tree: reference.messages.length };
  // Timestamps and the duration: the columns hold their ms (timestampMs); a tree field shown when they agree.
  const same = <T extends { seconds: bigint; nanos: number }>(tree: T | undefined, ms: number) => (tree !== undefined && Number(tree.seconds) * 1000 + Math.floor(tree.nanos / 1_000_000) === ms ? tree : { ms });
  const messages = reference.messages.map((m, i) => {
    const present = c.present[i];
    const ref = m.systemProperties;
    const system = (present & SEND_FIELD.systemProperties) === 0 ? undefined : {
      ...ref,
      messageId: c.messageIds[i],
      tag: c.tags[i],
      keys: c.keys[i],
      bodyEncoding: c.bodyEncodings[i],
      messageType: c.messageTypes[i],
      bornHost: c.bornHosts[i],
      messageGroup: c.messageGroups[i],
      traceContext: c.traceContexts[i],
      bornTimestamp: (present & SEND_FIELD.bornTimestamp) === 0 ? undefined
        : same(ref?.bornTimestamp, c.bornMs[i]),
      deliveryTimestamp: (present & SEND_FIELD.deliveryTimestamp) === 0 ? undefined
        : same(ref?.deliveryTimestamp, c.deliveryMs[i]),
      orphanedTransactionRecoveryDuration: (present & SEND_FIELD.orphanedRecoveryDuration) === 0 ? undefined
        : same(ref?.orphanedTransactionRecoveryDuration, c.orphanedRecoveryMs[i]),
    };
    // Absent optional fields are absent in the tree, not undefined.
    if (system) for (const key of Object.keys(system) as (keyof typeof system)[]) if (system[key] === undefined) delete system[key];
    const topic = m.topic ? { ...m.topic, name: c.topics[i] } : c.topics[i] === '' ? undefined : { name: c.topics[i] };
    const message: Record<string, unknown> = { ...m, topic, body: c.bodies[i], userProperties: c.userProperties[i] ?? {}, systemProperties: system };
    for (const key of ['topic', 'systemProperties']) if (message[key] === undefined) delete message[key];
    return message;
  });
  return { ...reference, messages };
}
