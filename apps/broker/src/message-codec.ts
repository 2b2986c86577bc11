// Between the wire's apache.rocketmq.v2.Message and the messaging layer's domain messages.
// Validation of what only the wire can get wrong (missing fields, unknown enums) happens here;
// business rules (sizes, names, types) are checked by the messaging layer.
import { durationFromMs, okStatus, SEND_FIELD, timestampFromMs, v2, type SendRequestColumns } from '@rmq/contracts';
import { RmqError } from '@rmq/base';
import { type BodyEncoding, type IncomingMessage, type MessageType, type OutgoingMessage } from '@rmq/messaging';

const MESSAGE_TYPE_FROM_WIRE: Partial<Record<v2.MessageType, MessageType>> = {
  [v2.MessageType.NORMAL]: 'NORMAL',
  [v2.MessageType.FIFO]: 'FIFO',
  [v2.MessageType.DELAY]: 'DELAY',
  [v2.MessageType.TRANSACTION]: 'TRANSACTION',
};

export const MESSAGE_TYPE_TO_WIRE: Record<MessageType, v2.MessageType> = {
  NORMAL: v2.MessageType.NORMAL,
  FIFO: v2.MessageType.FIFO,
  DELAY: v2.MessageType.DELAY,
  TRANSACTION: v2.MessageType.TRANSACTION,
};

/**
 * Message `i` of a SendMessage request read by column (send-request.ts): the same checks, in the
 * same order, with the same refusals as before the columns (message-codec.test.ts keeps that
 * version, which read the generated tree, as the reference).
 */
export function fromWireColumns(c: SendRequestColumns, i: number): OutgoingMessage {
  const present = c.present[i];
  if ((present & SEND_FIELD.systemProperties) === 0) throw new RmqError('BAD_REQUEST', { reason: 'the message has no system properties' });
  const messageId = c.messageIds[i];
  if (!messageId) throw new RmqError('BAD_REQUEST', { reason: 'the message has no message id' });
  const body = c.bodies[i];
  const bodyEncoding = bodyEncodingFromWire(c.bodyEncodings[i], body);
  const wireType: v2.MessageType = c.messageTypes[i];
  const messageGroup = c.messageGroups[i];
  const hasDelivery = (present & SEND_FIELD.deliveryTimestamp) !== 0;
  let messageType = MESSAGE_TYPE_FROM_WIRE[wireType];
  if (wireType === v2.MessageType.MESSAGE_TYPE_UNSPECIFIED) messageType = messageGroup ? 'FIFO' : hasDelivery ? 'DELAY' : 'NORMAL';
  if (!messageType) throw new RmqError('UNSUPPORTED', { feature: `message type ${v2.MessageType[wireType] ?? wireType}` });
  if (hasDelivery && messageType !== 'DELAY') messageType = 'DELAY';
  const deliveryTimestampMs = hasDelivery ? c.deliveryMs[i] : undefined;
  if (deliveryTimestampMs !== undefined && (!Number.isSafeInteger(deliveryTimestampMs) || deliveryTimestampMs < 0)) {
    throw new RmqError('BAD_REQUEST', { reason: `the delivery timestamp (${deliveryTimestampMs} ms since 1970) is out of range` });
  }
  const bornTimestampMs = (present & SEND_FIELD.bornTimestamp) !== 0 ? c.bornMs[i] : Date.now();
  if (!Number.isSafeInteger(bornTimestampMs) || bornTimestampMs < 0) {
    throw new RmqError('BAD_REQUEST', { reason: `the born timestamp (${bornTimestampMs} ms since 1970) is out of range` });
  }
  const userProperties = c.userProperties[i];
  return {
    topic: c.topics[i],
    body,
    messageId,
    messageType,
    tag: c.tags[i],
    keys: c.keys[i],
    messageGroup,
    bornTimestampMs,
    bornHost: c.bornHosts[i],
    traceContext: c.traceContexts[i],
    bodyEncoding,
    deliveryTimestampMs,
    orphanedRecoveryMs: (present & SEND_FIELD.orphanedRecoveryDuration) !== 0 ? c.orphanedRecoveryMs[i] : undefined,
    userProperties: userProperties === undefined ? NO_USER_PROPERTIES : userPropertiesFromWire(userProperties),
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

export interface DeliveryFields {
  receiptHandle: string;
  deliveryAttempt: number;
  invisibleMs: number;
  storeHost: string;
}

/**
 * A delivered message as the wire object, built as a literal (what create() makes, without its
 * reflection: this runs for every delivery); the hot-path codec encodes it in one pass.
 */
export function toWireMessage(message: IncomingMessage, delivery: DeliveryFields, namespace: string): v2.Message {
  const systemProperties: v2.SystemProperties = {
    $typeName: 'apache.rocketmq.v2.SystemProperties',
    keys: message.keys,
    messageId: message.messageId,
    bodyDigest: { $typeName: 'apache.rocketmq.v2.Digest', type: v2.DigestType.MD5, checksum: message.bodyMd5Hex },
    bodyEncoding: message.bodyEncoding === 'GZIP' ? v2.Encoding.GZIP : v2.Encoding.IDENTITY,
    messageType: MESSAGE_TYPE_TO_WIRE[message.messageType],
    bornTimestamp: timestampFromMs(message.bornTimestampMs),
    bornHost: message.bornHost,
    storeTimestamp: timestampFromMs(message.storeTimestampMs),
    storeHost: delivery.storeHost,
    receiptHandle: delivery.receiptHandle,
    queueId: message.queueId,
    queueOffset: BigInt(message.queueOffset),
    invisibleDuration: durationFromMs(delivery.invisibleMs),
    deliveryAttempt: delivery.deliveryAttempt,
  };
  // Optional fields are absent, not undefined, when the message has none (as create() leaves them).
  if (message.tag !== undefined) systemProperties.tag = message.tag;
  if (message.messageGroup !== undefined) systemProperties.messageGroup = message.messageGroup;
  if (message.traceContext !== undefined) systemProperties.traceContext = message.traceContext;
  if (message.deliveryTimestampMs !== undefined) systemProperties.deliveryTimestamp = timestampFromMs(message.deliveryTimestampMs);
  const userProperties: Record<string, string> = {};
  for (const [key, value] of message.userProperties) userProperties[key] = value;
  return {
    $typeName: 'apache.rocketmq.v2.Message',
    topic: { $typeName: 'apache.rocketmq.v2.Resource', name: message.topic, resourceNamespace: namespace },
    userProperties,
    systemProperties,
    body: message.body,
  };
}

/** One ReceiveMessage frame carrying a message. */
export function messageFrame(message: v2.Message): v2.ReceiveMessageResponse {
  return { $typeName: 'apache.rocketmq.v2.ReceiveMessageResponse', content: { case: 'message', value: message } };
}

/** Every OK entry's status (sent, acked): one object, read only by the reply's encoder. */
const ENTRY_OK: v2.Status = Object.freeze(okStatus()) as v2.Status;

/**
 * An AckMessage reply built whole, an entry per request entry in its order: its message id and
 * status; a failed one also echoes its receipt handle. (Clients read the top-level status, the
 * official ones nothing else; echoing every handle was most of the reply's bytes.) The top-level
 * status: absent when every ack was made (inBand adds OK), the entries' own when all failed
 * alike, else MULTIPLE_RESULTS.
 */
export function ackMessageReply(entries: readonly v2.AckMessageEntry[], errors: readonly (v2.Status | undefined)[] | undefined): v2.AckMessageResponse {
  const results = new Array<v2.AckMessageResultEntry>(entries.length);
  let failed = 0;
  let firstFailure: v2.Status | undefined;
  let alike = true;
  for (let i = 0; i < entries.length; i++) {
    const error = errors?.[i];
    if (error === undefined) {
      results[i] = { $typeName: 'apache.rocketmq.v2.AckMessageResultEntry', messageId: entries[i].messageId, receiptHandle: '', status: ENTRY_OK };
      continue;
    }
    results[i] = { $typeName: 'apache.rocketmq.v2.AckMessageResultEntry', messageId: entries[i].messageId, receiptHandle: entries[i].receiptHandle, status: error };
    failed++;
    firstFailure ??= error;
    if (error.code !== firstFailure.code) alike = false;
  }
  const reply: v2.AckMessageResponse = { $typeName: 'apache.rocketmq.v2.AckMessageResponse', entries: results };
  if (failed === 0) return reply;
  reply.status = failed === entries.length && alike
    ? firstFailure
    : { $typeName: 'apache.rocketmq.v2.Status', code: v2.Code.MULTIPLE_RESULTS, message: `${failed} of ${entries.length} acknowledgements failed; see the entries` };
  return reply;
}
